"""Render Results: terminal tables and JSON. Computes nothing new."""

from __future__ import annotations

import os

from rich import box
from rich.console import Console
from rich.table import Table

from glmcheck.results import RHAT_MAX, FitResult

__all__ = ["check_table", "fit_table", "fit_table_text", "stderr_console", "stdout_console"]

ESS_MIN = 400


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=max(Console().width, 100))


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def _fmt(value: float, digits: int = 3) -> str:
    return "nan" if value != value else f"{value:.{digits}f}"


def fit_table(result: FitResult) -> Table:
    s = result.settings
    t = result.timing
    title = (
        f"[bold]{result.case}[/] · frontend [bold]{result.frontend}[/] · "
        f"sampler [bold]{result.sampler}[/]"
    )
    ran = f"{s.get('chains')} chains × ({s.get('tune')} warm-up + {s.get('draws')} draws)"
    if s.get("target_accept") is not None:
        ran += f", target_accept {s['target_accept']:g}"
    if result.requested:
        asked = [f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                 for k, v in result.requested.items() if s.get(k) != v]
        ran += f" (asked: {', '.join(asked)})"
    divergences = "n/a" if result.divergences is None else result.divergences
    depth = ""
    if result.saturated_draws is not None:
        depth = f" · {result.saturated_draws} draws at max tree depth {result.max_tree_depth}"
    missing = (f" · not available: {', '.join(result.not_available)}"
               if result.not_available else "")
    caption = (
        f"{ran}, seed {result.seed} · divergences {divergences}{depth}{missing} · "
        f"compile {t['compile_s']:.2f} s, fit {t['fit_s']:.2f} s"
    )
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("parameter")
    for col in ("mean", "sd", "5%", "95%", "mcse", "ess_bulk", "ess_tail", "r_hat"):
        table.add_column(col, justify="right")
    for p in result.params:
        name = p.name if p.native == p.name else f"{p.name} ({p.native})"
        rhat = _fmt(p.r_hat)
        if not p.r_hat <= RHAT_MAX:
            rhat = f"[red]{rhat}[/]"
        ess = [f"{p.ess_bulk:.0f}", f"{p.ess_tail:.0f}"]
        ess = [e if float(e) >= ESS_MIN else f"[yellow]{e}[/]" for e in ess]
        table.add_row(
            name, _fmt(p.mean), _fmt(p.sd), _fmt(p.q05), _fmt(p.q95), _fmt(p.mcse_mean, 4),
            *ess, rhat,
        )
    return table


def check_table(results) -> Table:
    """One row per check: verdict, kind, subject, message."""
    table = Table(title="[bold]checks[/]", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("", "check", "case · frontend · sampler", "result"):
        table.add_column(col, overflow="fold")
    for r in results:
        verdict = "[green]PASS[/]" if r.passed else "[bold red]FAIL[/]"
        table.add_row(verdict, r.check, r.subject, r.message)
    failed = sum(not r.passed for r in results)
    table.caption = f"{len(results) - failed} passed, {failed} failed"
    return table


def fit_table_text(result: FitResult) -> str:
    console = Console(width=110, record=True, file=open(os.devnull, "w"), color_system=None)
    console.print(fit_table(result))
    return console.export_text()
