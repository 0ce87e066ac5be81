"""Medians, p95 and the printed report: a readable part, then one `BENCH key=value` per line.

A goal is printed next to its figure with ✓ or ✗; a missed goal is a measurement, never an
error of the command.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100), linear between the closest ranks; NaN when empty."""
    data = sorted(values)
    if not data:
        return math.nan
    k = (len(data) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        data = list(values)
        return cls(
            len(data), percentile(data, 50), percentile(data, 95), max(data, default=math.nan)
        )


@dataclass(frozen=True)
class Goal:
    """A goal of quality.md: its words, and the test of the figure it applies to."""

    text: str
    met: Callable[[float], bool]

    def verdict(self, value: float) -> str:
        if value is None or math.isnan(value):
            return f"goal {self.text}: ? (no figure)"
        return f"goal {self.text} {'✓' if self.met(value) else '✗'}"


def ms(value: float) -> str:
    """A time in milliseconds, as read in the report."""
    if math.isnan(value):
        return "—"
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def number(value: float, digits: int = 1) -> str:
    """A count or rate, "—" when it could not be measured."""
    return "—" if math.isnan(value) else f"{value:,.{digits}f}"


class Report:
    """Prints the readable report as the figures come, and keeps the machine-readable ones."""

    LABEL_WIDTH = 46

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.machine: list[tuple[str, str]] = []
        self.missed: list[str] = []

    def section(self, title: str) -> None:
        self.write("")
        self.write(f"== {title}")

    def note(self, text: str) -> None:
        self.write(f"   {text}")

    def line(
        self,
        label: str,
        text: str,
        *,
        goal: Goal | None = None,
        value: float | None = None,
    ) -> None:
        """One figure: label, values, and the goal with ✓/✗ when there is one."""
        row = f"  {label:<{self.LABEL_WIDTH}} {text}"
        if goal is not None:
            verdict = goal.verdict(value if value is not None else math.nan)
            row = f"{row:<{self.LABEL_WIDTH + 46}}  {verdict}"
            if verdict.endswith("✗"):
                self.missed.append(f"{label}: {goal.text}")
        self.write(row)

    def timing(
        self, label: str, values: Sequence[float], *, goal: Goal | None = None, on: str = "p95"
    ) -> Summary:
        """A line of median, p95 and max of times in ms; the goal tests `on` (p95 or max)."""
        s = Summary.of(values)
        text = f"p50 {ms(s.p50):>9}  p95 {ms(s.p95):>9}  max {ms(s.max):>9}  (n={s.n})"
        self.line(label, text, goal=goal, value=getattr(s, on))
        return s

    def figure(self, key: str, value: float | int | str) -> None:
        """A machine-readable figure for the BENCH block at the end."""
        if isinstance(value, float):
            value = "nan" if math.isnan(value) else f"{value:.3f}".rstrip("0").rstrip(".")
        self.machine.append((key, str(value)))

    def summary_figures(self, prefix: str, s: Summary) -> None:
        self.figure(f"{prefix}_p50_ms", s.p50)
        self.figure(f"{prefix}_p95_ms", s.p95)
        self.figure(f"{prefix}_max_ms", s.max)
        self.figure(f"{prefix}_n", s.n)

    def finish(self) -> None:
        self.write("")
        if self.missed:
            self.write(f"Goals missed ({len(self.missed)}):")
            for text in self.missed:
                self.write(f"  ✗ {text}")
        else:
            self.write("Every goal measured here was met.")
        self.write("")
        for key, value in self.machine:
            self.write(f"BENCH {key}={value}")
