"""Write the sign-off as one self-contained audit.html, and audit.json."""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fedflm.audit.ledger.recompute import SAME_KIND
from fedflm.audit.signoff.run import SignOff, fmt

CHECKED = [
    "Ledgers (the run's copies and the owners' own): newline-terminated canonical JSON lines, the SHA-256 hash "
    "chain, round order, field types and ranges, one owner per file, MACs with the owners' keys where given, "
    "copies of one owner's ledger agree.",
    "Every recorded epsilon against an independent recomputation from the recorded (sigma, q, steps) by Opacus "
    "RDP/PRV, cross-checked with Google dp-accounting; no epsilon under-counted or above its cap.",
    "Mechanism (white-box): the node's own DP-SGD step (fedflm.privacy.dp.make_private: Poisson sampler, "
    "per-example clipping, Gaussian noise, secure mode as configured) ran each owner's recorded history of steps "
    "on the run's model with Dirac gradient canaries; every step's update was observed and turned into epsilon "
    "lower bounds (one-run, Steinke, Nasr & Jagielski 2023; composed per step, Nasr et al. 2023), and the batch "
    "sizes were tested against Poisson sampling.",
]
TRUSTED = [
    "The ledger format and the public accountants (Opacus, dp-accounting) that recompute epsilon.",
    "That the code audited (hashes below) is the code the owners' nodes ran: the mechanism audit runs it here, "
    "it does not observe the owners' machines.",
    "Opacus' per-example gradient computation (grad-sample hooks): the canaries are written where the hooks put "
    "per-example gradients; the privacy test suite checks the hooks against a micro-batch reference.",
    "Without an owner's key: that nobody rewrote that owner's ledger consistently (the hash chain alone does "
    "not stop whoever holds the file).",
]
LIMITS = [
    "A lower bound below the claim does not prove the claim: it shows that this audit found no violation. The "
    "bound is reported with its confidence; a correct step fails the audit with probability at most "
    "1 - confidence.",
    "The composed bound assumes the steps of one canary are independent, which a correct step guarantees by "
    "construction; the one-run bound assumes nothing about independence.",
    "The mechanism audit uses canary-only batches (every other example has a zero gradient): no data of the "
    "owners is read, which is also the auditor's strongest setting.",
    "Deleting whole trailing ledger lines leaves a valid, shorter ledger: compare the run's copies with the "
    "owners' own ledgers (both were given to this audit when listed below).",
    "Client-level DP is not audited by the mechanism audit (it needs client canaries).",
    "The empirical (black-box) audit has little power on a head-mode run: a linear head on frozen sentence "
    "vectors memorises few canaries, so even without DP its bound stays near 1 (fedflm/audit/README.md, "
    "section 6); its PASS says little there, the mechanism audit is the strong check.",
    "The ledger does not record whether an owner's node ran in secure mode; the audit runs the mode given with "
    "--secure-mode, else the run config's (see the settings below).",
]
CSS = ("body{font-family:sans-serif;max-width:72em;margin:2em auto;color:#222}table{border-collapse:collapse}"
       "td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;font-size:.9em}"
       ".PASS{color:#060;font-weight:bold}.FAIL{color:#a00;font-weight:bold}code{font-size:.85em}"
       ".banner{padding:.6em 1em;font-size:1.3em}.ok{background:#e6f4e6}.bad{background:#fbe4e4}")


def _e(x: Any) -> str:
    return html.escape(str(x))


def _verdict(v: str) -> str:
    cls = v if v in ("PASS", "FAIL") else ""
    return f'<span class="{cls}">{_e(v)}</span>'


def _owner_rows(res: SignOff) -> list[str]:
    rows = []
    verdicts = res.owner_verdicts()
    for o in res.ledger.owners:
        s = o.summary()
        same = s["epsilon"].get(SAME_KIND.get(s["accountant"] or "", ""), None)
        mech = res.mechanism.get(o.owner)
        if mech is None or isinstance(mech, str):
            mcells = f'<td colspan="3">{_e(mech or "not run")}</td>'
        else:
            mcells = (f"<td>{fmt(mech.one_run.epsilon_lower_bound)} / {fmt(mech.composed.epsilon_lower_bound)}</td>"
                      f"<td>{mech.sampler.p_value:.2g}</td><td>{_e(mech.verdict())}</td>")
        rows.append(
            f"<tr><td>{_e(o.owner)}</td><td>{s['rounds']}</td><td>{s['steps']}</td>"
            f"<td>{_e(s['noise_multiplier'])}</td><td>{_e([round(q, 6) for q in s['sample_rate']])}</td>"
            f"<td>{_e(s['max_grad_norm'])}</td><td>{fmt(s['epsilon_recorded'])}</td><td>{fmt(same)}</td>"
            f"<td>{_e(s['mac'])}</td><td>{_verdict(verdicts[o.owner]['ledger'])}</td>{mcells}"
            f"<td>{_verdict(verdicts[o.owner]['mechanism'])}</td></tr>")
    return rows


def _empirical_section(res: SignOff) -> list[str]:
    if res.empirical is None:
        return ["<h2>Empirical (black-box) audit</h2><p>Not run (pass <code>--empirical</code>).</p>"]
    e = res.empirical
    return ["<h2>Empirical (black-box) audit</h2>",
            f"<p>{_verdict('FAIL' if e.violated else 'PASS')} <pre>{_e(e.describe())}</pre></p>"]


def render_signoff(res: SignOff) -> str:
    ok = res.ok
    man = res.manifest
    seed = res.options.mechanism.seed
    head = ("<tr><th>owner</th><th>rounds</th><th>steps</th><th>σ</th><th>q</th><th>C</th><th>ε recorded</th>"
            "<th>ε recomputed</th><th>MAC</th><th>ledger</th><th>mechanism lower bound (one-run / composed)</th>"
            "<th>sampler p</th><th>mechanism verdict</th><th>mechanism</th></tr>")
    findings = [f"<li>{_e(f.render())}</li>" for f in res.ledger.findings] or ["<li>none</li>"]
    files = [f"<tr><td><code>{_e(p)}</code></td><td><code>{h}</code></td></tr>" for p, h in man["files"].items()]
    return "\n".join([
        "<!doctype html><html><head><meta charset='utf-8'><title>fedflm privacy audit</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Privacy audit sign-off</h1>",
        f"<p>Run <code>{_e(res.run_dir)}</code>; generated "
        f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} by <code>fedflm audit all</code>.</p>",
        f"<div class='banner {'ok' if ok else 'bad'}'>Verdict: {_verdict('PASS' if ok else 'FAIL')} — "
        + ("every check passed" if ok else "at least one check failed (see below)") + "</div>",
        "<h2>Verdict per owner</h2>", f"<table>{head}{''.join(_owner_rows(res))}</table>",
        "<h2>Ledger findings</h2>", f"<ul>{''.join(findings)}</ul>",
        *_empirical_section(res),
        "<h2>What was checked</h2>", "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in CHECKED) + "</ul>",
        "<h2>What was trusted</h2>", "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in TRUSTED) + "</ul>",
        "<h2>Limits</h2>", "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in LIMITS) + "</ul>",
        "<h2>Inputs</h2>",
        f"<p>Inputs SHA-256: <code>{man['inputs_sha256']}</code> (files, code, key fingerprints and settings "
        f"below). To reproduce, rerun <code>fedflm audit all</code> on the same inputs with "
        f"<code>--seed {seed}</code>: the hash must match; the bounds then differ only by the DP noise.</p>",
        f"<table><tr><th>file</th><th>SHA-256</th></tr>{''.join(files)}</table>",
        f"<p>Code: <code>{_e(man['code'])}</code></p><p>Key fingerprints: <code>{_e(man['keys'])}</code></p>",
        f"<p>Settings: <code>{_e(json.dumps(man['settings'], default=str))}</code></p>",
        "</body></html>"])


def signoff_json(res: SignOff) -> dict[str, Any]:
    from fedflm.audit.ledger.report import audit_to_json

    return {"tool": "fedflm audit all", "ok": res.ok, "owners": res.owner_verdicts(), "manifest": res.manifest,
            "ledger": audit_to_json(res.ledger),
            "mechanism": {o: (r if isinstance(r, str) else r.to_json()) for o, r in res.mechanism.items()},
            "empirical": None if res.empirical is None else res.empirical.to_json()}


def write_signoff(res: SignOff, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / "audit.html", "json": out_dir / "audit.json"}
    paths["html"].write_text(render_signoff(res), encoding="utf-8")
    paths["json"].write_text(json.dumps(signoff_json(res), indent=2, default=str) + "\n", encoding="utf-8")
    return paths
