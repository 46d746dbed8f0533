from netcopilot.frontends.cli import main

main()
