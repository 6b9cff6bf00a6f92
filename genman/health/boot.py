"""Boot counting at switch time and the boot-time judgement (`genman boot-mark`).

When a generation with a [health] table becomes the boot default, `start_counting` gives
it `tries` boots (BLS counter or grubenv) and marks it `trying`. At boot, once the init
system reached its normal state, the marker (genman/health/boot/) runs `boot-mark`:

- booted the tried default: run the checks; all required ones pass -> `good`, blessed;
  one fails -> the reason is recorded and exit 5 makes the marker reboot (the counter does
  the rest). Without a counter there is nothing to fall back to: it never reboots then.
- booted something else while the default ran out of tries: the bootloader fell back.
  The default is marked `failed` ("3 boots, check 'ssh' failed: ...") and never counted
  again; the booted generation becomes the default again.
- a generation picked by hand or booted once is not blessed as the default.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from genman import generation, status
from genman.bootloader.model import Kind
from genman.channel import warn
from genman.context import Options
from genman.errors import BUG_HINT, GenmanError
from genman.health import checks, counting, state
from genman.health.config import HealthConfig
from genman.health.counting import Verdict
from genman.layout import Layout

Say = Callable[[str], None]
EXIT_GOOD = 0
EXIT_REBOOT = 5
MARKER = "/usr/lib/genman/genman-boot-mark"


def _health(layout: Layout, number: int) -> HealthConfig | None:
    try:
        return generation.manifest_of(layout, number).health
    except GenmanError:
        return None


def _target(opts: Options) -> tuple[Kind, Path | None]:
    """(bootloader, ESP or /boot host path)."""
    from genman.bootloader.probe import detect

    try:
        t = detect(opts)
    except GenmanError:
        return Kind.NONE, None
    if t.kind is Kind.SYSTEMD_BOOT:
        return t.kind, t.esp
    if t.kind is Kind.GRUB:
        return t.kind, t.boot_dir
    return Kind.NONE, None


def _grubenv(where: Path) -> Path:
    return where / "grub/grubenv"


def _update_grubenv(where: Path, changes: dict[str, str | None]) -> None:
    from genman import fsutil
    from genman.bootloader import grub

    path = _grubenv(where)
    old = path.read_text() if path.exists() else None
    fsutil.atomic_write(path, grub.update_env(old, changes), 0o644)


def _grubenv_values(where: Path) -> dict[str, str]:
    from genman.bootloader import grub

    try:
        return grub.parse_env(_grubenv(where).read_text())
    except OSError:
        return {}


def tries_left(opts: Options, number: int) -> int | None:
    kind, where = _target(opts)
    if where is None:
        return None
    if kind is Kind.SYSTEMD_BOOT:
        return counting.bls_left(where, number)
    return counting.grubenv_left(_grubenv_values(where), number)


def grub_save_env_problem(layout: Layout, boot_dir: Path) -> str | None:
    """Why GRUB could not write grubenv here (None: it can). A tree under --root is not
    the running system's disk, so grub-probe cannot see it: assumed writable there."""
    from genman.process import run

    grub_dir = boot_dir / "grub"
    try:
        fs = run(["grub-probe", "--target=fs", str(grub_dir)], check=True).stdout.strip()
        abst = run(["grub-probe", "--target=abstraction", str(grub_dir)],
                   check=False).stdout.split()
    except GenmanError as e:
        if not layout.is_live:
            return None
        return f"grub-probe cannot tell what {grub_dir} is on ({e.message})"
    return counting.save_env_problem(fs, abst)


def marker_installed(layout: Layout) -> bool:
    return layout.host(MARKER).is_file()


def last_good(layout: Layout, exclude: int) -> int | None:
    records = state.all_records(layout)
    m = status.markers(layout)
    return counting.fallback_of(
        exclude, [n for n, r in records.items() if r.state is state.GenState.GOOD],
        [n for n, r in records.items() if r.state is state.GenState.FAILED], m.booted, m.active)


def counting_problem(opts: Options, number: int, has_entry: bool | None = None) -> str | None:
    """Why generation N's boots would not be counted (None: they would). Reads only, so
    `--dry-run` says the same as the switch. `has_entry`: N has (or gets) a boot entry;
    None: look at the entries on disk."""
    layout = opts.layout
    if not marker_installed(layout):
        return (f"the boot-time marker {MARKER} is not installed "
                "(`genman health --install-marker`), so no boot could be marked good")
    kind, where = _target(opts)
    if kind is Kind.NONE or where is None:
        return "genman writes no boot entries here"
    if has_entry is None:
        from genman import bootloader

        has_entry = number in bootloader.entry_numbers(opts)
    if not has_entry:
        return f"generation {number} has no boot entry"
    if kind is Kind.GRUB and (problem := grub_save_env_problem(layout, where)) is not None:
        return (f"GRUB cannot write its environment block ({problem}); a bad generation "
                "falls back only by hand")
    return None


def start_counting(opts: Options, number: int) -> list[str]:
    """Generation N just became the default: give it its tries and mark it `trying`.
    Returns warnings: where nothing can count, it says so and N's state stays as it was."""
    layout = opts.layout
    health = _health(layout, number)
    if health is None:
        return []
    problem = counting_problem(opts, number)
    if problem is not None:
        return [f"boot counting is off: {problem}"]
    kind, where = _target(opts)
    if kind is Kind.SYSTEMD_BOOT and where is not None:
        if not counting.bls_start(where, number, health.tries):
            return [f"boot counting is off: generation {number} has no boot entry"]
    elif where is not None:
        _update_grubenv(where, counting.grubenv_start(number, health.tries,
                                                      last_good(layout, number)))
    state.mark_trying(layout, number, health.tries)
    return []


def bless(opts: Options, number: int) -> None:
    kind, where = _target(opts)
    if kind is Kind.SYSTEMD_BOOT and where is not None:
        counting.bls_bless(where, number)
    elif kind is Kind.GRUB and where is not None and \
            _grubenv_values(where).get("genman_trying") == str(number):
        _update_grubenv(where, counting.grubenv_bless(number))


def _stop_counting(opts: Options, number: int) -> None:
    """After a fallback: GRUB stops counting the failed default (a BLS entry at +0 stays
    bad and sorts last by itself)."""
    kind, where = _target(opts)
    if kind is Kind.GRUB and where is not None and \
            _grubenv_values(where).get("genman_trying") == str(number):
        _update_grubenv(where, {"genman_trying": None, "genman_tries_left": None})


def boot_mark(opts: Options, say: Say) -> int:
    """The boot-time judgement (the caller holds the lock). Exit 5: reboot this boot."""
    from genman.health.pending import settle
    from genman.probe import boot_id

    layout = opts.layout
    settle(opts, boot_id(), say)
    m = status.markers(layout)
    default, booted = m.default, m.booted
    rec = state.read(layout, default) if default is not None else None
    left = tries_left(opts, default) if default is not None else None
    verdict = counting.judge(default, booted, rec, left)
    say(f"default {default}, booted {booted}, tries left {left}: {verdict.value}")
    if verdict is Verdict.NOTHING or booted is None:
        return EXIT_GOOD
    if verdict is Verdict.MANUAL:
        say(f"generation {booted} was picked by hand or once: it is not blessed")
        return EXIT_GOOD
    if verdict is Verdict.FALLBACK:
        if default is None or rec is None:
            raise GenmanError("a fallback was judged without a default generation's record",
                              hint=BUG_HINT)
        _fall_back(opts, default, booted, rec.failure, say)
    health = _health(layout, booted) or HealthConfig()
    run = checks.run_checks(health, boot_id() or "unknown", booted, "boot", say=say)
    checks.save(layout, run)
    if verdict is not Verdict.CHECK:
        return EXIT_GOOD
    if run.required_ok:
        state.mark_good(layout, booted)
        bless(opts, booted)
        say(f"generation {booted} is good")
        return EXIT_GOOD
    bad = run.first_failure
    if bad is None:
        raise GenmanError("a required check failed but none is named", hint=BUG_HINT)
    state.write(layout, booted, state.Record(state.GenState.TRYING, left, bad.reason))
    if left is None:  # nothing counts: rebooting would only come back here
        say(f"{bad.reason}; no boot counter, so no reboot")
        return EXIT_GOOD
    if rec is not None and rec.failure is not None and rec.tries_left == left:
        # The last failed boot saw the same count: the loader is not counting (GRUB
        # that cannot save_env); rebooting again would loop for ever.
        warn(f"{bad.reason}; the boot counter did not count down since the last failed "
             f"boot ({left} left), so no reboot: fix it by hand or `genman rollback`")
        return EXIT_GOOD
    if left == 0:
        # The last try failed: the loader would fall back by itself; moving the default
        # back now also records the failure before the reboot.
        good = last_good(layout, booted)
        if good is not None:
            _fall_back(opts, booted, good, bad.reason, say)
    say(f"{bad.reason}; rebooting ({left} tries left)")
    return EXIT_REBOOT


def _fall_back(opts: Options, failed: int, good: int, why: str | None, say: Say) -> None:
    """`failed` ran out of tries: mark it, stop counting it, make `good` the default."""
    from genman import activation

    layout = opts.layout
    tries = (_health(layout, failed) or HealthConfig()).tries
    reason = counting.fallback_reason(tries, why)
    state.mark_failed(layout, failed, reason)
    _stop_counting(opts, failed)
    say(f"generation {failed} failed ({reason}); {good} is the default again")
    activation.apply_generation(opts, good, activation.Mode.BOOT, activation.Flags(), say,
                                "fallback")
