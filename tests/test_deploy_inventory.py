"""hosts.toml and Ansible inventories (INI, YAML, group_vars/ and host_vars/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genman.deploy import inventory
from genman.errors import GenmanError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


HOSTS_TOML = """
[defaults]
ssh_user = "root"
ssh_options = ["-o", "ConnectTimeout=10"]
vars = { site = "eu", ospf_cost = 1 }

[groups.edge]
vars = { ospf_cost = 10, role = "edge" }

[groups.core]
vars = { role = "core" }

[hosts.fra1]
address = "fra1.example.net"
groups = ["edge", "core"]
profile = "hosts/fra1/profile.toml"
vars = { ltnet_index = 3, ltnet_prefix_v4 = "172.18.3" }

[hosts.ams1]
address = "192.0.2.7"
port = 2222
root = "/mnt"
groups = ["edge"]
vars = { ospf_cost = 5 }
"""


def test_hosts_toml(tmp_path: Path) -> None:
    inv = inventory.load(write(tmp_path / "hosts.toml", HOSTS_TOML))
    fra1, ams1 = inv.hosts
    assert fra1.address == "fra1.example.net" and fra1.port is None
    assert fra1.ssh_user == "root" and fra1.ssh_options == ("-o", "ConnectTimeout=10")
    assert fra1.profile == tmp_path / "hosts/fra1/profile.toml"
    assert fra1.root == "/"
    # host vars > group vars (later groups win) > defaults
    assert fra1.vars == {"site": "eu", "ospf_cost": 10, "role": "core", "ltnet_index": 3,
                         "ltnet_prefix_v4": "172.18.3"}
    assert ams1.port == 2222 and ams1.root == "/mnt"
    assert ams1.profile == tmp_path / "profile.toml"
    assert ams1.vars == {"site": "eu", "ospf_cost": 5, "role": "edge"}


def test_hosts_toml_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = write(tmp_path / "hosts.toml", '[hosts.a]\naddress = "x"\nprot = 22\n')
    with pytest.raises(GenmanError, match=r"hosts.toml: hosts.a.prot: unknown key"):
        inventory.load(bad)
    bad.write_text('[hosts.a]\nport = "22"\n')
    with pytest.raises(GenmanError, match=r"hosts.a.port: expected a port number"):
        inventory.load(bad)
    bad.write_text('[hosts.a]\ngroups = ["nope"]\n')
    with pytest.raises(GenmanError, match=r"hosts.a.groups: no group 'nope'"):
        inventory.load(bad)


def test_select_patterns(tmp_path: Path) -> None:
    inv = inventory.load(write(tmp_path / "hosts.toml", HOSTS_TOML))
    names = lambda p: [h.name for h in inv.select(p)]  # noqa: E731
    assert names(None) == ["fra1", "ams1"]
    assert names("core") == ["fra1"]
    assert names("edge:!core") == ["ams1"]
    assert names("a*") == ["ams1"]
    assert names("edge,&core") == ["fra1"]
    with pytest.raises(GenmanError, match="no host matches"):
        inv.select("lon*")


INI = """
# a comment
lon1 ansible_host=10.0.0.5

[edge]
fra1 ansible_host=10.0.0.3 ansible_port=2222 ltnet_index=3 ospf_cost=7
ams1 ansible_host=10.0.0.7 ansible_user=deploy genman_root=/mnt

[edge:vars]
ospf_cost=10
motd=hello world

[europe:children]
edge

[europe:vars]
ospf_cost=20
region=eu

[all:vars]
region=world
ansible_ssh_common_args=-o ProxyJump=bastion
"""


def test_ansible_ini_with_group_vars_and_host_vars(tmp_path: Path) -> None:
    write(tmp_path / "group_vars/all.yml", "ntp: pool.ntp.org\nregion: from-group-vars-all\n")
    write(tmp_path / "group_vars/europe/10-main.yml", "ospf_cost: 30\nlang: de\n")
    write(tmp_path / "group_vars/edge", "lang: en\n")
    write(tmp_path / "host_vars/fra1.yaml", "ltnet_index: 4\n"
          "ansible_ssh_private_key_file: /keys/fra1\ngenman_profile: fra1.toml\n")
    inv = inventory.load(write(tmp_path / "inventory.ini", INI))
    hosts = {h.name: h for h in inv.hosts}
    assert [h.name for h in inv.hosts] == ["lon1", "fra1", "ams1"]
    fra1 = hosts["fra1"]
    assert fra1.address == "10.0.0.3" and fra1.port == 2222
    assert fra1.ssh_options == ("-i", "/keys/fra1", "-o", "ProxyJump=bastion")
    assert fra1.profile == tmp_path / "fra1.toml"
    assert set(fra1.groups) == {"edge", "europe"}
    assert fra1.vars == {
        "ntp": "pool.ntp.org",
        "region": "eu",  # the europe group's inventory vars beat group_vars/all
        "ospf_cost": 7,  # inline host var (a literal: int) beats every group
        "lang": "en",  # group_vars/edge (the child) beats group_vars/europe
        "motd": "hello world",  # :vars values are strings, the whole rest of the line
        "ltnet_index": 4,  # host_vars/ beats the inventory's host vars
    }
    ams1 = hosts["ams1"]
    assert ams1.ssh_user == "deploy" and ams1.root == "/mnt"
    assert ams1.vars["ospf_cost"] == 30  # group_vars/europe beats inventory [edge:vars]
    lon1 = hosts["lon1"]
    assert lon1.groups == () and lon1.vars["region"] == "from-group-vars-all"


YAML = """
all:
  vars:
    region: world
  children:
    edge:
      vars:
        ospf_cost: 10
      hosts:
        fra1:
          ansible_host: 10.0.0.3
          ltnet_index: 3
        ams1:
      children:
        anycast:
          hosts:
            ams1:
              ansible_port: 2200
          vars:
            ospf_cost: 15
"""


def test_ansible_yaml(tmp_path: Path) -> None:
    write(tmp_path / "host_vars/ams1/main.yml", "ltnet_index: 1\n")
    inv = inventory.load(write(tmp_path / "hosts.yml", YAML))
    hosts = {h.name: h for h in inv.hosts}
    assert hosts["fra1"].vars == {"region": "world", "ospf_cost": 10, "ltnet_index": 3}
    assert hosts["fra1"].address == "10.0.0.3"
    ams1 = hosts["ams1"]
    assert ams1.address == "ams1" and ams1.port == 2200
    assert ams1.vars == {"region": "world", "ospf_cost": 15, "ltnet_index": 1}
    assert [h.name for h in inv.select("anycast")] == ["ams1"]


def test_ansible_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(GenmanError, match=r"hosts.yml: invalid YAML"):
        inventory.load(write(tmp_path / "hosts.yml", "all:\n  hosts: [\n"))
    with pytest.raises(GenmanError, match=r"inv.ini: line 2: unknown section kind"):
        inventory.load(write(tmp_path / "inv.ini", "\n[edge:kids]\n"))
    with pytest.raises(GenmanError, match=r"all.children.edge.host: unknown key"):
        inventory.load(write(tmp_path / "h2.yml", "all:\n  children:\n    edge:\n"
                                                   "      host: {a: 1}\n"))


def test_the_example_inventory_loads() -> None:
    example = Path(__file__).parent.parent / "examples/hosts.toml"
    inv = inventory.load(example)
    assert [h.name for h in inv.hosts] == ["fra1", "ams1"]
    assert all(h.profile.is_file() for h in inv.hosts)
    assert inv.hosts[1].vars["ospf_cost"] == 10 and inv.hosts[1].root == "/mnt"


def test_extensionless_inventories(tmp_path: Path) -> None:
    yml = inventory.load(write(tmp_path / "a/hosts", "# fleet\n" + YAML))
    assert [h.name for h in yml.hosts] == ["fra1", "ams1"]
    ini = inventory.load(write(tmp_path / "b/hosts", "# fleet\nfra1\nams1 ansible_port=22\n"))
    assert [h.name for h in ini.hosts] == ["fra1", "ams1"] and ini.hosts[1].port == 22
    assert inventory.load(tmp_path / "b").hosts == ini.hosts  # a directory holding one
