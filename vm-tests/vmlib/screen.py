"""Just enough of a VT100 to read a boot menu off the serial console.

systemd-boot (through OVMF's terminal) and GRUB (terminfo on serial) draw their menus with
absolute cursor moves and mark the selected entry with attributes (OVMF: black on white;
GRUB: reverse video). Replaying the byte stream onto a grid tells which line is
highlighted, so the harness can press Down until the entry it wants is selected — as a
person at the console would — instead of counting positions it would have to guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CSI = re.compile(rb"\x1b\[([0-9;?=]*)([A-Za-z@])")


@dataclass
class Cell:
    ch: str
    hi: bool


@dataclass
class Screen:
    rows: dict[int, dict[int, Cell]] = field(default_factory=dict)
    row: int = 1
    col: int = 1
    fg: int | None = None
    bg: int | None = None
    reverse: bool = False

    @property
    def highlighted(self) -> bool:
        return self.reverse or (self.bg is not None and self.bg not in (40, 49))

    def _put(self, ch: str) -> None:
        self.rows.setdefault(self.row, {})[self.col] = Cell(ch, self.highlighted)
        self.col += 1

    def _sgr(self, params: str) -> None:
        codes = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else [0]
        for c in codes:
            if c == 0:
                self.fg = self.bg = None
                self.reverse = False
            elif c == 7:
                self.reverse = True
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37 or 90 <= c <= 97:
                self.fg = c
            elif 40 <= c <= 47 or 100 <= c <= 107:
                self.bg = c
            elif c == 49:
                self.bg = None

    def feed(self, data: bytes) -> None:
        i = 0
        n = len(data)
        while i < n:
            b = data[i]
            if b == 0x1B:
                m = CSI.match(data, i)
                if m:
                    self._csi(m.group(1).decode(), m.group(2).decode())
                    i = m.end()
                    continue
                i += 3 if i + 1 < n and data[i + 1] in b"()" else 2  # charset selects etc.
                continue
            if b == 0x0D:
                self.col = 1
            elif b == 0x0A:
                self.row += 1
            elif b == 0x08:
                self.col = max(1, self.col - 1)
            elif b >= 0x20:
                self._put(chr(b) if b < 0x80 else " ")  # box drawing in cp437: not text
            i += 1

    def _csi(self, params: str, final: str) -> None:
        nums = (
            [int(p) if p.isdigit() else 0 for p in params.lstrip("?=").split(";")] if params else []
        )
        if final in "Hf":
            self.row = nums[0] if nums and nums[0] else 1
            self.col = nums[1] if len(nums) > 1 and nums[1] else 1
        elif final == "J":
            if (nums[0] if nums else 0) == 2:
                self.rows.clear()
            else:  # from the cursor to the end of the screen
                line = self.rows.get(self.row, {})
                for c in [c for c in line if c >= self.col]:
                    del line[c]
                for r in [r for r in self.rows if r > self.row]:
                    del self.rows[r]
        elif final == "K":
            line = self.rows.get(self.row, {})
            for c in [c for c in line if c >= self.col]:
                del line[c]
        elif final == "m":
            self._sgr(params)
        elif final == "A":
            self.row = max(1, self.row - (nums[0] if nums and nums[0] else 1))
        elif final == "B":
            self.row += nums[0] if nums and nums[0] else 1
        elif final == "C":
            self.col += nums[0] if nums and nums[0] else 1
        elif final == "D":
            self.col = max(1, self.col - (nums[0] if nums and nums[0] else 1))

    def line(self, r: int) -> str:
        cells = self.rows.get(r, {})
        if not cells:
            return ""
        return "".join(
            cells[c].ch if c in cells else " " for c in range(1, max(cells) + 1)
        ).rstrip()

    def lines(self) -> list[str]:
        return [self.line(r) for r in range(1, max(self.rows, default=0) + 1)]

    def highlighted_line(self) -> str | None:
        """The text of the line most of whose non-blank characters are highlighted."""
        best = None
        for r in sorted(self.rows):
            cells = [c for c in self.rows[r].values() if c.ch.strip()]
            if cells and sum(c.hi for c in cells) * 2 > len(cells):
                # Only the highlighted run: GRUB draws the box border around it unhighlighted.
                text = "".join(c.ch for _, c in sorted(self.rows[r].items()) if c.hi).strip()
                if best is None or len(text) > len(best):
                    best = text
        return best

    def dump(self) -> str:
        return "\n".join(self.lines())
