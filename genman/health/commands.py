"""What the health commands do, between the CLI and genman.health: confirmed switches,
`confirm`, `health`, the watcher, and the state fields of status and list-generations.
Output goes through the `echo(text, err)` the CLI hands in; nothing here imports click."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genman import generation
from genman.context import Options
from genman.errors import GenmanError
from genman.health import checks, confirm, state
from genman.health.config import HealthConfig, parse_duration, show_duration

Echo = Callable[..., None]
Say = Callable[[str], None]

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_REVERTED = 5
BOOT_MARK_LOCK_WAIT = 120.0  # seconds: a genman started before the reboot may still be ending


def _within(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise GenmanError(f"--confirm-within: {e}",
                          hint="give a positive duration such as 30s, 2m or 1h") from None


def _chooser(opts: Options, profile_file: Path | None, number: int | None,
             say: Say) -> Callable[[], int]:
    """What the confirmed switch activates: a build of the profile (validated now, before
    the lock), an existing generation, or (number -1) the one before the default."""
    from genman import activation, profile

    if profile_file is not None:
        prof = profile.load(profile_file, opts.layout)
        return lambda: generation.build(prof, opts.layout, say).number
    if number == -1:
        return lambda: activation.previous_generation(opts.layout)
    if number is None:
        raise GenmanError("a confirmed switch needs a profile or a generation number",
                          hint="give `genman switch` a profile or `switch-generation` a number")

    def existing() -> int:
        generation.toplevel_of(opts.layout, number)  # a clear error for a missing one
        return number

    return existing


def confirmed_switch(opts: Options, profile_file: Path | None, number: int | None,
                     within_text: str, wait: bool, flags: Any, init_system: str | None,
                     say: Say, echo: Echo) -> int:
    within = _within(within_text)
    command = "switch" if profile_file else ("rollback" if number == -1 else "switch-generation")
    choose = _chooser(opts, profile_file, number, say)
    result = confirm.begin(opts, choose, within, flags, say, command,
                           lambda token: confirm.start_watcher(opts, token, init_system))
    if result.run is not None and result.run.results:
        for line in checks.run_text(result.run):
            echo(line, err=True)
    if result.outcome is confirm.Outcome.REVERTED:
        echo(f"error: {confirm.describe(result)}", err=True)
        echo("hint: the previous generation is live again and stays the boot default; "
             "`genman health --last` shows the checks' output", err=True)
        return EXIT_REVERTED
    if result.deadline is None:
        raise GenmanError("the confirmed switch left no pending confirmation to watch",
                          hint="`genman status` shows what is active and what is the default")
    say(f"watcher {result.watcher} reverts generation {result.number} at the deadline "
        "unless confirmed")
    echo(confirm.describe(result))
    if not wait:
        return EXIT_OK
    final = confirm.wait_outcome(opts.layout, result.number, result.deadline)
    if final.outcome is confirm.Outcome.REVERTED:
        echo(f"error: {confirm.describe(final)}", err=True)
        return EXIT_REVERTED
    echo(confirm.describe(final))
    return EXIT_OK


def dry_run_health(opts: Options, profile_file: Path | None, number: int,
                   within_text: str | None, plan: Any) -> list[dict[str, Any]]:
    """`--dry-run`: the tries and the checks that will run, as `--json` objects (each with
    the `text` the plain dry run prints). `number`: the generation the dry run plans;
    `plan` its Plan, whose boot entries tell whether its boots can be counted."""
    from genman import profile
    from genman.health import boot
    from genman.plan import BootEntries

    if profile_file is not None:
        health = profile.load(profile_file, opts.layout).sections.get("health")
    else:
        health = generation.manifest_of(opts.layout, number).health
    if health is None and within_text is None:
        return []  # nothing about health to say: the plan is all there is
    items = (health or HealthConfig()).describe_items()
    if health is not None:
        entries = {n for a in plan.actions if isinstance(a, BootEntries)
                   for n in a.plan.entries}
        problem = boot.counting_problem(opts, number, number in entries)
        when = "once confirmed" if within_text is not None else "as the boot default"
        items[0].update(counting=problem is None, counting_off=problem)
        items.insert(1, {"kind": "health_counting", "counting": problem is None,
                         "text": f"health: boot counting is off: {problem}" if problem
                         else f"health: generation {number} gets its {health.tries} "
                              f"tries {when}; at 0 the loader boots the last good one"})
    if within_text is not None:
        within = _within(within_text)
        items.append({"kind": "confirm", "within": within, "text": _confirm_text(within)})
    return items


def _confirm_text(within: float) -> str:
    return ("confirm: the boot default stays; required checks run after activation, then "
            f"`genman confirm` must come within {show_duration(within)} or the previous "
            "generation is activated again (exit 5)")


def health_lines(health: HealthConfig | None, within_text: str | None) -> list[str]:
    """What a dry run says about the tries and checks, below the plan, where the target's
    boot state is not at hand (deploy's plan for a host, made before anything is copied)."""
    if health is None and within_text is None:
        return []  # nothing about health to say: the plan is all there is
    lines = [f"  {line}" for line in (health or HealthConfig()).describe()]
    if within_text is not None:
        lines.append(f"  {_confirm_text(_within(within_text))}")
    return lines


def confirm_command(opts: Options, flags: Any, say: Say, echo: Echo) -> int:
    number = confirm.confirm(opts, flags, say)
    echo(f"confirmed generation {number}: it is the boot default")
    return EXIT_OK


def counting_for(opts: Options) -> Callable[[int], list[str]]:
    """What the session that makes a generation the boot default runs before it lets go
    of the lock (activation.OnDefault): start counting that generation's boots."""
    def start(number: int) -> list[str]:
        from genman.health import boot

        return boot.start_counting(opts, number)
    return start


def install_marker(opts: Options, init_system: str | None, echo: Echo) -> int:
    from genman.health import install
    from genman.probe import detect_init_system
    from genman.services import InitSystem
    from genman.session import session

    init = InitSystem(init_system) if init_system else detect_init_system(opts.layout)
    with session(opts):
        for line in install.install(opts.layout, init, _marker_options(opts)):
            echo(f"installed {line}")
    return EXIT_OK


def _marker_options(opts: Options) -> list[str]:
    """The global options given now that the boot-time marker needs too, as the target
    sees them (an ESP outside the --root tree is a test's, not the target's)."""
    out = [] if opts.bootloader.value == "auto" else ["--bootloader", opts.bootloader.value]
    for flag, path in (("--esp", opts.esp), ("--boot-dir", opts.boot_dir)):
        if path is None:
            continue
        try:
            out += [flag, str(opts.layout.target(path))]
        except ValueError:
            continue
    return out


def boot_mark_command(opts: Options, say: Say) -> int:
    """Judge this boot. At boot the lock is free; a genman still running waits us out."""
    from genman.errors import LockHeld
    from genman.health import boot
    from genman.session import session

    try:
        with session(opts, say, lock_wait=max(opts.lock_wait, BOOT_MARK_LOCK_WAIT)):
            return boot.boot_mark(opts, say)
    except LockHeld as e:
        raise GenmanError(f"{e.message}; this boot is not judged", hint=e.hint) from None


def watch_command(opts: Options, token: str, flags: Any) -> int:
    def log(message: str) -> None:
        print(f"{state.now_iso()} watcher: {message}", flush=True)

    log(f"waiting for confirmation (token {token})")
    step = confirm.watch(opts, token, flags, log)
    log(f"finished: {step.value}")
    return EXIT_OK


def health_command(opts: Options, last: bool, as_json: bool, say: Say, echo: Echo) -> int:
    """Run the active generation's checks now (or, with `last`, show the last run of each
    boot). Exit 1 when a required check failed."""
    from genman import status
    from genman.probe import boot_id

    layout = opts.layout
    if last:
        runs = checks.load_runs(layout)
        if as_json:
            echo(json.dumps([r.to_dict() for r in runs], indent=2))
        elif not runs:
            echo("no health checks have run yet")
        for r in runs if not as_json else []:
            for line in checks.run_text(r):
                echo(line)
        return EXIT_OK
    active = status.markers(layout).active
    if active is None:
        raise GenmanError("no generation is active", hint="`genman switch` activates one")
    health = generation.manifest_of(layout, active).health or HealthConfig()
    run = checks.run_checks(health, boot_id() or "unknown", active, "manual", say=say)
    checks.save(layout, run)
    if as_json:
        echo(json.dumps(run.to_dict(), indent=2))
    else:
        for line in checks.run_text(run):
            echo(line)
    return EXIT_OK if run.required_ok else EXIT_CHECKS_FAILED
