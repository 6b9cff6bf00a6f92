"""The click commands of deploy: `genman deploy` on the deploying machine, and
`genman remote ...` it runs on each target over ssh."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from genman.context import Options
from genman.layout import Layout

if TYPE_CHECKING:
    from genman.deploy import keep as keep_mod

EXIT_SOME_FAILED = 6


def _progress(host: str, what: str) -> None:
    click.echo(f"{host}: {what}", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default="hosts.toml",
              show_default=True, help="hosts.toml, or an Ansible inventory (INI or YAML).")
@click.option("--hosts", "pattern", metavar="PATTERN",
              help="Hosts and groups to deploy to: names, groups, globs; ',' separates, "
                   "'!x' excludes, '&x' intersects (default: all).")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="Hosts deployed at once.")
@click.option("--max-fail", metavar="N|N%",
              help="Start no new host once N hosts (or N% of them) failed.")
@click.option("--canary", type=click.IntRange(min=0), default=0, metavar="K",
              help="Deploy the first K hosts alone first; the rest only if all succeeded.")
@click.option("--switch", "action", flag_value="switch", default=True,
              help="Activate now and make it the boot default (default).")
@click.option("--boot", "action", flag_value="boot", help="Make it the boot default only.")
@click.option("--test", "action", flag_value="test", help="Activate now; the default stays.")
@click.option("--confirm-within", metavar="DURATION", default="2m", show_default=True,
              help="With --switch, where the target's genman has the confirmed switch: a "
                   "host that deploy cannot confirm within DURATION reverts by itself.")
@click.option("--keep", type=click.IntRange(min=0), default=3, show_default=True,
              metavar="N", help="The local store keeps what the last N builds of each host "
                                "need; the rest goes after the deploy (0: keep everything).")
@click.option("--dry-run", is_flag=True,
              help="Print the rollout and each host's own plan (what its `switch --dry-run` "
                   "would print); change nothing, here or on the hosts.")
@click.option("--offline", is_flag=True,
              help="With --dry-run: only the rollout and how each host is reached; no host "
                   "is contacted.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def deploy(inventory: Path, pattern: str | None, limit: int, max_fail: str | None, canary: int,
           action: str, confirm_within: str, keep: int, dry_run: bool, offline: bool,
           as_json: bool) -> int:
    """Build every host's generation here and switch the hosts to it over SSH.

    Each host: facts (one round trip), build with its vars and facts, copy only the store
    paths it lacks, activate, confirm over a new connection. A host whose result equals
    what it runs costs one round trip. Ends with a table per host: switched, unchanged,
    reverted, failed, unreachable or skipped. Exit code 6: some host did not succeed.

    \b
    Examples:
      genman deploy -i hosts.toml
      genman deploy -i inventory.ini --hosts edge --canary 1 --max-fail 10%
      genman deploy --dry-run --json
      genman deploy --dry-run --offline
      genman deploy --keep 5      # the local store keeps 5 builds per host
    """
    from genman.deploy import inventory as inventory_mod
    from genman.deploy import report, rollout, runner
    from genman.deploy.build import LocalStore, default_dir

    inv = inventory_mod.load(inventory)
    hosts = {h.name: h for h in inv.select(pattern)}
    plan = rollout.plan(tuple(hosts), rollout.Action(action), limit=limit, canary=canary,
                        max_fail=max_fail)
    if offline:
        if not dry_run:
            raise click.UsageError("--offline needs --dry-run")
        if as_json:
            click.echo(json.dumps(plan.to_dict(), indent=2))
        else:
            click.echo("\n".join(plan.describe() + report.hosts_text(list(hosts.values()))))
        return 0
    control_dir = Path(tempfile.mkdtemp(prefix="genman-ssh-"))
    store = LocalStore(default_dir(), write=not dry_run, keep=keep)
    try:
        ctx = runner.Context(store, control_dir, _progress, confirm_within)
        if dry_run:
            from genman.deploy import dryrun

            plans = dryrun.run(ctx, plan, hosts)
            out = dryrun.to_json(plan, plans) if as_json else dryrun.text(plan, plans)
            click.echo(out.rstrip("\n"))
            return 0 if all(p.ok for p in plans) else EXIT_SOME_FAILED
        results = runner.execute(plan, lambda n: runner.run_host(ctx, hosts[n], plan.action))
        _collected(store.collect())
    finally:
        store.close()
        shutil.rmtree(control_dir, ignore_errors=True)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        click.echo(report.table(results), nl=False)
    return 0 if all(r.outcome.ok for r in results) else EXIT_SOME_FAILED


def _collected(c: keep_mod.Collected | None) -> None:
    if c is not None and c.skipped:
        click.echo("local store: another deploy is using it; nothing removed", err=True)
    elif c is not None and c.removed:
        click.echo(f"local store: removed {c.removed} store paths no recent build needs "
                   f"({c.freed / 1e6:.1f} MB)", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def remote() -> None:
    """The target side of `genman deploy`, which runs these over ssh.

    \b
    Example (what a deploy runs first on each host):
      genman --root /mnt remote facts
    """


def _opts() -> Options:
    opts = click.get_current_context().find_object(Options)
    if opts is None:  # only when a command is invoked without the group
        raise click.UsageError("genman's global options were not parsed")
    return opts


def _layout() -> Layout:
    return _opts().layout


def _can_confirm() -> bool:
    """This genman has the confirmed switch: `confirm`, `switch-generation
    --confirm-within`."""
    root = click.get_current_context().find_root().command
    if not isinstance(root, click.Group):
        return False
    sg = root.commands.get("switch-generation")
    return "confirm" in root.commands and sg is not None and any(
        "--confirm-within" in getattr(p, "opts", ()) for p in sg.params)


@remote.command("facts")
def remote_facts() -> None:
    from genman.deploy import target

    click.echo(target.dump(target.facts(_layout(), _can_confirm())))


@remote.command("has")
def remote_has() -> None:
    """Which of the store names on stdin this target holds."""
    from genman.deploy import target

    for name in target.has(_layout(), sys.stdin.read().split()):
        click.echo(name)


@remote.command("receive")
def remote_receive() -> None:
    """Take a tar stream of store paths on stdin (see genman.deploy.copy)."""
    from genman.deploy import target

    made = target.receive(_layout(), sys.stdin.buffer)
    click.echo(f"received {len(made)} store paths", err=True)


@remote.command("receive-secrets")
def remote_receive_secrets() -> None:
    """Take [secrets] content on stdin (JSON: name -> base64) into the secrets directory."""
    from genman.deploy import target

    made = target.receive_secrets(_layout(), sys.stdin.read())
    click.echo(f"received {len(made)} secrets", err=True)


@remote.command("activate")
@click.argument("toplevel")
@click.option("--mode", type=click.Choice(["switch", "boot", "test"]), required=True)
@click.option("--confirm-within", metavar="DURATION")
def remote_activate(toplevel: str, mode: str, confirm_within: str | None) -> None:
    from genman.deploy import target

    opts = _opts()
    answer = target.activate(opts, toplevel, mode, confirm_within,
                             lambda m: click.echo(f"genman: {m}", err=True))
    click.echo(target.dump(answer))


@remote.command("plan")
@click.argument("toplevel")
@click.option("--mode", type=click.Choice(["switch", "boot", "test"]), required=True)
@click.option("--confirm-within", metavar="DURATION")
def remote_plan(toplevel: str, mode: str, confirm_within: str | None) -> None:
    """The dry run of TOPLEVEL, whose manifest.json comes on stdin; changes nothing."""
    from genman.deploy import target

    click.echo(target.dump(target.plan(_opts(), toplevel, sys.stdin.read(), mode,
                                       confirm_within)))
