"""`r1data report`: one self-contained HTML page for a pipeline run or a list of step outputs.

What it shows, from each step's manifest and shards (nothing is recomputed that a manifest already says):
the funnel (rows in and kept per step, drops per reason), chain-of-thought length histograms and pass-rate
distributions per source, the verifier's status counts, a few kept and removed rows per step with their reasons,
and the facts of each manifest (command, status, versions, settings, seconds). Plots are matplotlib PNGs embedded
as base64, so the page is one file that opens anywhere, offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from r1data import schema
from r1data.errors import InputError, MissingExtraError
from r1data.manifest import MANIFEST, read_manifest

# Drop reasons: no green (kept is green), distinct enough side by side.
DROP_COLOURS = (
    "#dd8452",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
    "#4c72b0",
    "#e5ae38",
    "#b07aa1",
    "#fc4f30",
)
EXAMPLES = 3  # kept and removed rows shown per step
MAX_ROWS_READ = 200_000  # rows of a step's shards read for the plots (a sample beyond that)


@dataclass
class StepView:
    """What the report knows of one step output."""

    name: str
    path: Path
    manifest: dict
    kept: pl.DataFrame | None = None
    removed: pl.DataFrame | None = None
    lengths: dict[str, list[int]] = field(default_factory=dict)  # source -> trace lengths
    length_kind: str = ""  # what they measure: think length, or answer length where there is no think part
    pass_rates: dict[str, list[float]] = field(default_factory=dict)  # source -> pass rates
    statuses: Counter = field(default_factory=Counter)


def find_steps(paths: list[Path]) -> list[tuple[str, Path]]:
    """Step outputs, in order: a pipeline run folder gives its NN-step folders; a step output gives itself."""
    found: list[tuple[str, Path]] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            raise InputError(f"{path}: not a folder. Give a pipeline run folder or step output folders.")
        if (path / MANIFEST).is_file():
            found.append((path.name, path))
            continue
        steps = sorted(p for p in path.iterdir() if p.is_dir() and (p / MANIFEST).is_file())
        if not steps:
            raise InputError(
                f"{path}: holds no step output (no manifest.json in it or in its subfolders). Give a folder that "
                "`r1data run` or a step wrote."
            )
        found += [(p.name, p) for p in steps]
    return found


def _read(folder: Path) -> pl.DataFrame | None:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return None
    try:
        return pl.scan_parquet(files).head(MAX_ROWS_READ).collect()
    except Exception:  # a shard written by another tool: the report goes on without it
        return None


def _by_source(sources: list[str], values: list) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for s, v in zip(sources, values, strict=True):
        for x in v if isinstance(v, list) else [v]:
            if x is not None:
                out.setdefault(s or "all", []).append(int(x))
    return out


def _trace_lengths(df: pl.DataFrame) -> tuple[dict[str, list[int]], str]:
    """Lengths per source and what they measure: the think part (the stats step's column when present, else counted
    from the traces); where no trace has a think part (worked solutions, a model that does not think aloud), the
    whole answer."""
    from r1data.ops.stats import traces, word_counter

    sources = (
        df.get_column(schema.SOURCE).cast(pl.String).fill_null("").to_list()
        if schema.SOURCE in df.columns
        else [""] * df.height
    )
    if "think_tokens" in df.columns:
        think = _by_source(sources, df.get_column("think_tokens").to_list())
        if any(any(v) for v in think.values()) or "answer_tokens" not in df.columns:
            return think, "think length"
        return _by_source(sources, df.get_column("answer_tokens").to_list()), "answer length (no think part)"
    column = next((c for c in schema.COMPLETION_CANDIDATES if c in df.columns), None)
    if column is None:
        return {}, ""
    data = df if schema.SOURCE in df.columns else df.with_columns(pl.lit("").alias(schema.SOURCE))
    try:
        t = traces(data, column, word_counter)
    except Exception:  # a column that is not traces after all
        return {}, ""
    flat_sources = [s or "all" for s in t.source]
    if t.think.any():
        return _by_source(flat_sources, t.think.tolist()), "think length"
    return _by_source(flat_sources, t.answer.tolist()), "answer length (no think part)"


def load(name: str, path: Path) -> StepView:
    manifest = read_manifest(path) or {}
    view = StepView(name, path, manifest, _read(path / "data"), _read(path / "removed"))
    frames = [d for d in (view.kept, view.removed) if d is not None and d.height]
    for df in frames[:1]:  # lengths of what the step kept (its output)
        view.lengths, view.length_kind = _trace_lengths(df)
    for df in frames:
        if "pass_rate" in df.columns:
            sources = (
                df.get_column(schema.SOURCE).cast(pl.String).fill_null("").to_list()
                if schema.SOURCE in df.columns
                else [""] * df.height
            )
            for s, r in zip(sources, df.get_column("pass_rate").to_list(), strict=True):
                if r is not None:
                    view.pass_rates.setdefault(s or "all", []).append(float(r))
        if "verify_status" in df.columns:
            for v in df.get_column("verify_status").to_list():
                view.statuses.update(v if isinstance(v, list) else [v])
    statuses = (manifest.get("stats") or {}).get("statuses")
    if isinstance(statuses, dict) and not view.statuses:
        view.statuses.update({k: int(v) for k, v in statuses.items() if isinstance(v, (int, float))})
    return view


# ---------------------------------------------------------------------------------------------------------------
# Plots


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError("matplotlib", "plot", "r1data report") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def read_from(view: StepView, views: list[StepView]) -> str:
    """What a step read, in words: the step outputs of this run by name, other files by their path relative to the
    run (the demo's filter reads its own problems, not the curated rows)."""
    by_path = {str(v.path.resolve()): v.name for v in views}
    root = views[0].path.resolve().parent if views else Path(".")
    names = []
    for given in view.manifest.get("inputs") or []:
        path = Path(given.get("path", "")) if isinstance(given, dict) else Path(str(given))
        resolved = str(path.resolve())
        if resolved in by_path:
            names.append(by_path[resolved])
        else:
            names.append(str(path.resolve().relative_to(root)) if path.resolve().is_relative_to(root) else str(path))
    config = view.manifest.get("config") or {}
    limit = config.get("limit") or (config.get("io") or {}).get("limit") or (view.manifest.get("io") or {}).get("limit")
    said = ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:3])} and {len(names) - 3} more"
    return said + (f" (first {limit:,} rows)" if isinstance(limit, int) else "")


def funnel_plot(views: list[StepView]) -> str | None:
    """One bar per step in rows, on one scale for the whole run: kept, then each drop reason; beside it what the
    step read and what it kept."""
    rows = [
        (
            v.name,
            v.manifest.get("rows_in"),
            v.manifest.get("rows_out", v.manifest.get("rows_used")),
            v.manifest.get("drops") or {},
            read_from(v, views),
        )
        for v in views
        if v.manifest.get("rows_in")
    ]
    if not rows:
        return None
    plt = _plt()
    reasons = sorted({r for *_, drops, _ in rows for r in drops})
    fig, ax = plt.subplots(figsize=(9.5, 1.0 + 0.55 * len(rows)))
    names = [r[0] for r in rows][::-1]
    kept = [r[2] or 0 for r in rows][::-1]
    ax.barh(names, kept, color="#3a7d44", label="kept")
    left = list(kept)
    for i, reason in enumerate(reasons):
        widths = [r[3].get(reason, 0) for r in rows][::-1]
        ax.barh(names, widths, left=left, color=DROP_COLOURS[i % len(DROP_COLOURS)], label=f"removed: {reason}")
        left = [a + b for a, b in zip(left, widths, strict=True)]
    widest = max(r[1] for r in rows)
    for y, r in enumerate(rows[::-1]):
        ax.text(r[1] + widest * 0.01, y, f"kept {r[2] or 0:,} of {r[1]:,} read from {r[4]}", va="center", fontsize=7)
    ax.set_xlim(0, widest * 1.9)
    ax.set_xlabel("rows (one scale for the whole run)")
    ax.set_title("Rows through the run: what each step read, kept and removed")
    ax.legend(
        fontsize=7, loc="upper center", bbox_to_anchor=(0.45, -0.45 / max(1, len(rows)) - 0.12), ncol=3, frameon=False
    )
    return _png(fig)


def overlap_plot(view: StepView) -> str | None:
    """Dedup's overlap between sources as a matrix: row A, column B holds the rows of A removed as duplicates of
    rows kept from B (the diagonal: a source's own duplicates)."""
    overlap = (view.manifest.get("stats") or {}).get("source_overlap") or {}
    pairs, rows = overlap.get("pairs") or [], overlap.get("rows") or {}
    if len(rows) < 2 or not pairs:
        return None
    names = sorted(rows)
    where = {n: i for i, n in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for p in pairs:
        if p["source"] in where and p["duplicates_of"] in where:
            matrix[where[p["source"]]][where[p["duplicates_of"]]] = p["rows"]
    plt = _plt()
    size = 1.6 + 0.7 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(matrix, cmap="Oranges")
    for i, line in enumerate(matrix):
        for j, n in enumerate(line):
            if n:
                ax.text(j, i, f"{n:,}\n{n / rows[names[i]]:.1%}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), [f"{n} ({rows[n]:,})" for n in names], fontsize=8)
    ax.set_xlabel("duplicate of a row kept from")
    ax.set_ylabel("rows of (its rows)")
    ax.set_title(f"{view.name}: overlap between sources (rows removed)")
    fig.colorbar(image, ax=ax, shrink=0.7)
    return _png(fig)


def training_plot(view: StepView) -> str | None:
    """The trainer's curves from OUT/log.jsonl: loss, and the reward where GRPO logged one, per step."""
    log = view.path / "log.jsonl"
    if not log.is_file():
        return None
    points = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("step"), int | float):
            points.append(entry)
    curves = {
        key: [(p["step"], p[key]) for p in points if isinstance(p.get(key), int | float)]
        for key in ("loss", "reward", "mean_token_accuracy")
    }
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 2.8), squeeze=False)
    for ax, (key, pts) in zip(axes[0], curves.items(), strict=True):
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", markersize=3, color="#4c72b0")
        ax.set_title(f"{view.name}: {key}")
        ax.set_xlabel("step")
    fig.tight_layout()
    return _png(fig)


def _histograms(by_source: dict[str, list], bins: Any, title: str, xlabel: str, ylabel: str, median: bool) -> str:
    """Overlaid histograms, one per source, with n (and the median) in the legend."""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for source, values in sorted(by_source.items()):
        label = f"{source} (n={len(values):,}" + (f", median {int(np.median(values))})" if median else ")")
        ax.hist(values, bins=bins, alpha=0.55, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    return _png(fig)


def lengths_plot(view: StepView) -> str | None:
    if not view.lengths:
        return None
    import numpy as np

    top = max(max(v) for v in view.lengths.values() if v)
    xlabel = f"{view.length_kind} (tokens, or words when no tokenizer was given)"
    bins = np.linspace(0, max(top, 1), 30)
    return _histograms(view.lengths, bins, f"{view.name}: trace lengths", xlabel, "traces", median=True)


def pass_rate_plot(view: StepView) -> str | None:
    if not view.pass_rates:
        return None
    return _histograms(
        view.pass_rates,
        [i / 10 for i in range(11)],
        f"{view.name}: pass-rate distribution",
        "pass rate",
        "problems",
        median=False,
    )


def status_plot(view: StepView) -> str | None:
    if not view.statuses:
        return None
    plt = _plt()
    items = view.statuses.most_common()
    fig, ax = plt.subplots(figsize=(6.5, 0.5 + 0.35 * len(items)))
    ax.barh([k for k, _ in items][::-1], [n for _, n in items][::-1], color="#4c72b0")
    for y, n in enumerate([n for _, n in items][::-1]):
        ax.text(n, y, f" {n:,}", va="center", fontsize=8)
    ax.set_title(f"{view.name}: verifier statuses")
    ax.set_xlabel("completions")
    return _png(fig)


# ---------------------------------------------------------------------------------------------------------------
# The page

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;
padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;
vertical-align:top;font-size:.9em}th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;margin:.5em 0}.ex{font-family:ui-monospace,Menlo,monospace;font-size:.8em;white-space:pre-wrap}
.warn{color:#9a6700}.muted{color:#777}details{margin:.4em 0}
.cell{max-height:16em;min-width:18em;overflow:auto;white-space:pre-wrap}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(rows: list[tuple], header: tuple | None = None, scroll: bool = False) -> str:
    """A table; with `scroll`, each cell holds its whole value in a box that scrolls."""
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for value in row:
            cls = ' class="n"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
            text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
            body = f'<div class="cell">{_e(text)}</div>' if scroll and len(text) > 80 else _e(text)
            cells.append(f"<td{cls}>{body}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _img(data: str | None, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">' if data else ""


def _cell(value: Any) -> str:
    """A value whole: a list item by item (numbered; a chat turn as role: content), long text in full (the cell
    scrolls)."""
    if isinstance(value, list):
        if not value:
            return "[]"
        parts = []
        for n, item in enumerate(value, 1):
            if isinstance(item, dict) and "content" in item:
                item = f"{item.get('role', '')}: {item['content']}"
            parts.append(f"[{n}] {item}")
        return "\n".join(parts)
    return "" if value is None else str(value)


def _examples(df: pl.DataFrame | None, kind: str) -> str:
    if df is None or df.height == 0:
        return ""
    show = [
        c
        for c in (
            schema.ID,
            schema.PROBLEM,
            schema.ANSWER,
            schema.DROP_REASON,
            "duplicate_of",
            "contaminated_benchmark",
            "pass_rate",
            "verify_status",
            "candidate_status",
            "rejected_by",
        )
        if c in df.columns
    ]
    trace = next((c for c in ("messages", *schema.COMPLETION_CANDIDATES) if c in df.columns), None)
    if trace:
        show.append(trace)
    rows = []
    sample = df
    if schema.DROP_REASON in df.columns:  # one example per reason first
        sample = df.unique(subset=[schema.DROP_REASON], keep="first", maintain_order=True)
    for row in sample.head(EXAMPLES).select(show).iter_rows(named=True):
        rows.append(tuple(_cell(row[c]) for c in show))
    return (
        f"<details open><summary>{kind} rows ({df.height:,}): the first {len(rows)}</summary>"
        f'<div class="ex">{_table(rows, tuple(show), scroll=True)}</div></details>'
    )


def _facts(m: dict) -> str:
    facts = [("command", m.get("command", "")), ("status", m.get("status", ""))]
    if "global_step" in m:  # a training run: what it trained on and how far
        last = m.get("last_log") or {}
        facts += [
            ("rows in / used", f"{m.get('rows_in', '?')} / {m.get('rows_used', '?')}"),
            ("steps", m.get("global_step", "")),
            ("last log", ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in last.items())),
            ("model", m.get("model_dir", "")),
        ]
    else:
        facts.append(
            (
                "rows in / out / removed",
                f"{m.get('rows_in', '?')} / {m.get('rows_out', '?')} / {m.get('rows_removed', '?')}",
            )
        )
    facts += [("seconds", m.get("seconds", "")), ("started", m.get("started_at", ""))]
    versions = m.get("versions") or {}
    if versions:
        facts.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    out = _table(facts)
    for w in m.get("warnings", []):
        out += f'<p class="warn">Warning: {_e(w)}</p>'
    config = m.get("config")
    if config:
        out += (
            f'<details><summary>settings</summary><div class="ex">{_e(json.dumps(config, indent=1, default=str))}'
            "</div></details>"
        )
    return out


def build_html(views: list[StepView], title: str) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title><style>{CSS}</style>"
        f"</head><body><h1>{_e(title)}</h1>"
        f"<p class='muted'>r1data report, {_e(time.strftime('%Y-%m-%d %H:%M'))}: {len(views)} step outputs</p>"
    ]
    funnel = [
        (
            v.name,
            v.manifest.get("command", ""),
            read_from(v, views),
            v.manifest.get("rows_in", ""),
            v.manifest.get("rows_out", v.manifest.get("rows_used", "")),
            ", ".join(f"{k} {n:,}" for k, n in sorted((v.manifest.get("drops") or {}).items())),
            v.manifest.get("seconds", ""),
        )
        for v in views
    ]
    parts.append("<h2>Funnel</h2>")
    parts.append(_img(funnel_plot(views), "funnel"))
    parts.append(_table(funnel, ("step", "command", "read from", "rows in", "kept", "removed, by reason", "seconds")))
    for v in views:
        parts.append(f"<h2 id='{_e(v.name)}'>{_e(v.name)}</h2>")
        parts.append(_facts(v.manifest))
        for plot, alt in (
            (lengths_plot(v), "think lengths"),
            (pass_rate_plot(v), "pass rates"),
            (status_plot(v), "verifier statuses"),
            (overlap_plot(v), "overlap between sources"),
            (training_plot(v), "training curves"),
        ):
            parts.append(_img(plot, f"{v.name}: {alt}"))
        parts.append(_examples(v.kept, "kept"))
        parts.append(_examples(v.removed, "removed"))
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def write_report(paths: list[Path], out: Path, title: str | None = None) -> tuple[Path, list[StepView]]:
    """Read the step outputs, build the page, write it (atomically). Returns its path and what it showed."""
    from r1data import publish

    views = [load(name, path) for name, path in find_steps(paths)]
    page = build_html(views, title or f"r1data run: {', '.join(str(p) for p in paths)}")
    out = Path(out)
    publish.write_text(out, page)
    return out, views
