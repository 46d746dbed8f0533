"""Secret masking: real-looking command lines, the secret replaced and the rest kept intact, and
look-alikes (ports, counts, hashes) left alone."""

from __future__ import annotations

import pytest

from netcopilot.history.secrets import MARKER, mask

S = MARKER
GHP = "ghp_" + "a1B2c3D4e5" * 4
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----"

MASKED = [
    # databases
    ("mysql -u root -phunter2 prod", f"mysql -u root -p{S} prod"),
    ("mysqldump -h db1 -P 3306 -u backup -p'S3cr3t!' --all-databases", f"mysqldump -h db1 -P 3306 -u backup -p{S} --all-databases"),
    ("mysql -h db -u app --password=s3cr3t", f"mysql -h db -u app --password={S}"),
    ("PGPASSWORD=abc123 psql -h db -U app", f"PGPASSWORD={S} psql -h db -U app"),
    ("MYSQL_PWD=abc mysql -u root", f"MYSQL_PWD={S} mysql -u root"),
    ("redis-cli -h cache -a 'hunter2' ping", f"redis-cli -h cache -a {S} ping"),
    ("mongosh --host db -u admin -p pass123 --authenticationDatabase admin",
     f"mongosh --host db -u admin -p {S} --authenticationDatabase admin"),
    ("ldapsearch -x -D cn=admin,dc=corp -w adminpw -b dc=corp", f"ldapsearch -x -D cn=admin,dc=corp -w {S} -b dc=corp"),
    ("sqlcmd -S db -U sa -P 'Str0ng!' -Q 'select 1'", f"sqlcmd -S db -U sa -P {S} -Q 'select 1'"),
    # remote access and HTTP
    ("sshpass -p s3cr3t ssh -p 2222 admin@sw1", f"sshpass -p {S} ssh -p 2222 admin@sw1"),
    ("curl -u alice:Wonderland https://api.example.com/v1", f"curl -u alice:{S} https://api.example.com/v1"),
    ("curl --user 'bob:p@ss word' https://x", f"curl --user 'bob:{S}' https://x"),
    ("curl -sSf -uadmin:admin http://10.0.0.2/api", f"curl -sSf -uadmin:{S} http://10.0.0.2/api"),
    ("curl -H 'Authorization: Bearer abcdef0123456789' https://api", f"curl -H 'Authorization: Bearer {S}' https://api"),
    ("curl -H \"X-Api-Key: 0123456789abcdef\" https://api", f"curl -H \"X-Api-Key: {S}\" https://api"),
    ("wget --user=bob --password=hunter2 ftp://files/x.iso", f"wget --user=bob --password={S} ftp://files/x.iso"),
    ("git clone https://bob:pa55word@git.example.com/team/x.git", f"git clone https://bob:{S}@git.example.com/team/x.git"),
    ("psql postgresql://app:dbpass@10.0.0.5:5432/prod", f"psql postgresql://app:{S}@10.0.0.5:5432/prod"),
    ("curl -d '{\"username\": \"bob\", \"password\": \"hunter2\"}' https://login",
     f"curl -d '{{\"username\": \"bob\", \"password\": \"{S}\"}}' https://login"),
    ("smbclient //fs/share -U alice%Secret1", f"smbclient //fs/share -U alice%{S}"),
    ("docker login -u me -p tok123 registry.example.com", f"docker login -u me -p {S} registry.example.com"),
    # tokens, options and assignments
    (f"export GITHUB_TOKEN={GHP}", f"export GITHUB_TOKEN={S}"),
    (f"git push https://{GHP}@github.com/o/r.git", f"git push https://{S}@github.com/o/r.git"),
    ("SLACK_BOT_TOKEN=xoxb-1234567890-abcdefghij netcopilot slack", f"SLACK_BOT_TOKEN={S} netcopilot slack"),
    ("echo xoxp-1234567890-0987654321-abcdefabcdef", f"echo {S}"),
    ("aws s3 ls --profile x # AKIAIOSFODNN7EXAMPLE", f"aws s3 ls --profile x # {S}"),
    ("aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     f"aws configure set aws_secret_access_key {S}"),
    (f"http GET api/me 'Authorization:{JWT}'", f"http GET api/me 'Authorization:{S}'"),
    (f"echo {JWT}", f"echo {S}"),
    ("vault login --token=s.abcdef12345", f"vault login --token={S}"),
    ("kubectl --token abc.def get pods", f"kubectl --token {S} get pods"),
    ("gh auth login --with-token --secret xyz", f"gh auth login --with-token --secret {S}"),
    ("export DB_PASSWORD='correct horse'", f"export DB_PASSWORD={S}"),
    ("kubectl create secret generic db --from-literal=password=abc", f"kubectl create secret generic db --from-literal=password={S}"),
    ("terraform apply -var api_key=0123456789abcdef0123", f"terraform apply -var api_key={S}"),
    ("curl 'https://api/x?access_token=abc123&page=2'", f"curl 'https://api/x?access_token={S}&page=2'"),
    ("./deploy.sh key=ZGVhZGJlZWZkZWFkYmVlZmRlYWRiZWVm", f"./deploy.sh key={S}"),
    (f"echo '{PEM}' > id_rsa", f"echo '{S}' > id_rsa"),
    # networking
    ("snmpwalk -v2c -c s3cretcomm 10.0.0.1 ifDescr", f"snmpwalk -v2c -c {S} 10.0.0.1 ifDescr"),
    ("snmpget -v3 -u admin -l authPriv -a SHA -A authpass123 -x AES -X privpass456 10.1.1.1 sysUpTime.0",
     f"snmpget -v3 -u admin -l authPriv -a SHA -A {S} -x AES -X {S} 10.1.1.1 sysUpTime.0"),
    ("snmpbulkwalk -v2c -cpublic 10.0.0.1", f"snmpbulkwalk -v2c -c{S} 10.0.0.1"),
    ("nmap -sU -p161 --script snmp-info --script-args snmp.community=private 10.0.0.0/24",
     f"nmap -sU -p161 --script snmp-info --script-args snmp.community={S} 10.0.0.0/24"),
    ("ipmitool -I lanplus -H 10.0.0.9 -U admin -P calvin chassis status",
     f"ipmitool -I lanplus -H 10.0.0.9 -U admin -P {S} chassis status"),
    ("openssl enc -aes-256-cbc -in a -out b -pass pass:hunter2", f"openssl enc -aes-256-cbc -in a -out b -pass pass:{S}"),
    ("openssl pkcs12 -export -in c.pem -out c.p12 -passout pass:export1", f"openssl pkcs12 -export -in c.pem -out c.p12 -passout pass:{S}"),
    ("nmcli dev wifi connect HomeNet password wifi-pass-1", f"nmcli dev wifi connect HomeNet password {S}"),
    ("nmcli con modify office wifi-sec.psk 'long psk here'", f"nmcli con modify office wifi-sec.psk {S}"),
    ("wpa_passphrase HomeNet 'my wifi pass' > /etc/wpa.conf", f"wpa_passphrase HomeNet {S} > /etc/wpa.conf"),
    ("ssh sw1 'conf t ; snmp-server community N0tPublic RO'", f"ssh sw1 'conf t ; snmp-server community {S} RO'"),
    ("ssh r1 \"conf t\nusername admin privilege 15 secret 0 Cisco123\"", f"ssh r1 \"conf t\nusername admin privilege 15 secret 0 {S}\""),
    ("htpasswd -bc /etc/nginx/.htpasswd alice s3cret", f"htpasswd -bc /etc/nginx/.htpasswd alice {S}"),
    # wrappers, pipelines and quoted inner commands
    ("cd /tmp && sudo -u root mysql -pXYZ", f"cd /tmp && sudo -u root mysql -p{S}"),
    ("env LANG=C timeout 5 sshpass -p pw1 ssh host uptime", f"env LANG=C timeout 5 sshpass -p {S} ssh host uptime"),
    ("watch -n 5 \"mysql -pfoo -e 'show processlist'\"", f"watch -n 5 \"mysql -p{S} -e 'show processlist'\""),
    ("bash -c 'redis-cli -a pw2 info' | grep used", f"bash -c 'redis-cli -a {S} info' | grep used"),
]

UNTOUCHED = [
    "ping -c 4 8.8.8.8",
    "ssh -p 2222 admin@10.0.0.1",
    "scp -P 2222 file admin@10.0.0.1:/tmp/",
    "mysql -h db -P 3306 -u root -p prod",
    "mysql -u root --password",
    "docker run -p 8080:80 -u 1000:1000 nginx",
    "git log --oneline 3f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b",
    "sha256sum image.iso | grep 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "ls -la /etc/ssh",
    "cd $OLDPWD && echo $PWD",
    "psql --no-password -h db -U app",
    "ansible-playbook site.yml --ask-become-pass",
    "docker login --password-stdin -u me registry",
    "export PATH=$PATH:/opt/bin",
    "export GITHUB_TOKEN=$(cat ~/.config/token)",
    "curl -u alice https://api.example.com",
    "snmpd -c /etc/snmp/snmpd.conf",
    "tcpdump -i eth0 -c 100 port 161",
    "ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519",
    "openssl req -new -key server.key -out server.csr -passin env:KEY_PASS",
    "kubectl get secret db -o yaml",
    "grep -r password /etc/app.conf",
    "git commit -m 'rotate the token'",
    "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
    "passwd alice",
    f"echo {MARKER}",
]


@pytest.mark.parametrize("command, expected", MASKED, ids=[c[:40] for c, _ in MASKED])
def test_masks_the_secret_and_keeps_the_rest(command: str, expected: str) -> None:
    masked, count = mask(command)
    assert masked == expected
    assert count == expected.count(MARKER) - command.count(MARKER)
    assert mask(masked) == (masked, 0)  # idempotent: the marker is never masked again


@pytest.mark.parametrize("command", UNTOUCHED, ids=[c[:40] for c in UNTOUCHED])
def test_leaves_look_alikes_alone(command: str) -> None:
    assert mask(command) == (command, 0)
