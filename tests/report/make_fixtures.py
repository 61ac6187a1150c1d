#!/usr/bin/env python3
# Writes the fixture run directories of the report tests (tests/report/fixtures/): run.json,
# result.json and score_log.jsonl in the harness's formats (README "Run directory"), with the final
# score selected and normalised the way the harness does. Deterministic; rerun after a format change
# and review the diff. Covers: two environments (best-valid/lower and last-valid/higher), two agents
# plus a broken one (every entry invalid), ties, an interrupted run, a run still in progress, a torn
# score-log tail, and an agent spec that tries to inject HTML/script into the report.
import json, math, os, shutil, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
LIMIT = 8 * 3600.0
HOSTILE = 'cmd:aide --tag "</script><img src=x onerror=alert(1)>"'

ENVS = {
    "optimize_kernel": dict(title="Optimize a kernel", version="1.0.0", direction="lower",
                            selection="best", transform="ln(ms)", metric=("runtime", "ms"),
                            starting_raw=4.76, reference_raw=1.6, to_score=math.log),
    "scaling_law": dict(title="Scaling law experiment", version="0.1.0", direction="higher",
                        selection="last", transform="score", metric=("score", "score"),
                        starting_raw=0.24, reference_raw=0.84, to_score=lambda x: x),
}

def select(env, entries):
    chosen = None
    for i, e in enumerate(entries):
        if not e["valid"]:
            continue
        if env["selection"] == "last" or chosen is None:
            chosen = i
            continue
        best, cand = entries[chosen]["score"], e["score"]
        if (cand < best) if env["direction"] == "lower" else (cand > best):
            chosen = i
    return chosen

def write_run(run_id, env_id, spec, label, calls, status="completed", used=LIMIT, torn=False,
              ended_by="deadline"):
    env = ENVS[env_id]
    d = os.path.join(ROOT, run_id)
    os.makedirs(d)
    start = env["to_score"](env["starting_raw"])
    ref = env["to_score"](env["reference_raw"])
    entries = []
    for i, (kind, t, raw, message) in enumerate(calls):
        valid = raw is not None
        score = env["to_score"](raw) if valid else None
        entries.append({"index": i, "kind": kind, "timestamp": "2026-01-01T00:00:00.000Z",
                        "elapsed_s": t, "scorer_duration_s": 2.0,
                        "metrics": [{"name": env["metric"][0], "value": raw, "unit": env["metric"][1]}] if valid else [],
                        "raw": raw, "score": score, "valid": valid, "message": message,
                        "details": {}, "snapshot_id": "%016x" % (i + 1), "device": {}})
    with open(os.path.join(d, "score_log.jsonl"), "w") as f:
        f.write(json.dumps({"format": "rebench-score-log", "version": "1.0", "run_id": run_id,
                            "environment": env_id, "environment_version": env["version"],
                            "created": "2026-01-01T00:00:00.000Z"}, sort_keys=True) + "\n")
        for e in entries:
            f.write(json.dumps(e, sort_keys=True) + "\n")
        if torn:
            f.write('{"index": %d, "kind": "agent", "elapsed_s": 27000' % len(entries))
    options = {"environment": env_id, "agent": spec, "time_limit_s": LIMIT, "profile": "h100",
               "seed": 1, "sandbox": "bubblewrap"}
    if label:
        options["label"] = label
    run = {"run_id": run_id, "created": "2026-01-01T00:00:00.000Z",
           "harness": {"version": "0.1.0", "commit": "fixture"},
           "environment": {"id": env_id, "title": env["title"], "version": env["version"],
                           "direction": env["direction"], "selection": env["selection"],
                           "transform": env["transform"],
                           "metric": {"name": env["metric"][0], "unit": env["metric"][1]}},
           "profile": {"name": "h100"}, "options": options}
    with open(os.path.join(d, "run.json"), "w") as f:
        json.dump(run, f, indent=2, sort_keys=True)
        f.write("\n")
    if status == "running":
        return
    c = select(env, entries)
    if c is None:
        final = {"valid": False, "entry_index": None, "raw": None, "score": None,
                 "normalized": 0.0, "normalized_clipped": 0.0, "reason": "no valid score"}
    else:
        n = (entries[c]["score"] - start) / (ref - start)
        final = {"valid": True, "entry_index": c, "raw": entries[c]["raw"],
                 "score": entries[c]["score"], "normalized": n,
                 "normalized_clipped": max(0.0, n), "reason": ""}
    agent_calls = [e for e in entries if e["kind"] == "agent"]
    result = {"schema_version": "1.0", "run_id": run_id,
              "environment": {"id": env_id, "version": env["version"]}, "profile": "h100",
              "status": status, "finished": "2026-01-01T08:00:00.000Z",
              "agent": {"spec": spec, "self_test": False,
                        "ended_by": "interrupted" if status == "interrupted" else ended_by,
                        "exit_status": None},
              "anchors": {"file": "configs/anchors.json", "profile": "h100",
                          "starting_raw": env["starting_raw"], "reference_raw": env["reference_raw"],
                          "starting_score": start, "reference_score": ref,
                          "measured_on": "NVIDIA H100 80GB HBM3"},
              "final": final, "baseline": None,
              "score_calls": len(agent_calls),
              "invalid_score_calls": sum(1 for e in agent_calls if not e["valid"]),
              "entries": len(entries),
              "time": {"limit_s": LIMIT, "used_s": used, "score_time_s": 2.0 * len(entries),
                       "score_time_counted": True},
              "sandbox": {"mode": "bubblewrap", "protected": True, "limits": {}, "network": True}}
    with open(os.path.join(d, "result.json"), "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")

def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    B, A, F = "baseline", "agent", "final"
    modular = "cmd:modular-agent --model claude"
    k = "optimize_kernel-20260101T0000"
    write_run(k + "01-a0000001", "optimize_kernel", modular, "modular", [
        (B, 0.0, 4.76, "4.76 ms"), (A, 600.0, 3.9, "3.9 ms"),
        (A, 1800.0, None, "output differs from the reference at index 17"),
        (A, 5400.0, 2.5, "2.5 ms"), (A, 14400.0, 2.0, "2.0 ms"), (F, LIMIT, 2.0, "2.0 ms")])
    write_run(k + "02-a0000002", "optimize_kernel", modular, "modular", [
        (B, 0.0, 4.76, "4.76 ms"), (A, 900.0, 3.0, "3.0 ms"), (A, 3600.0, 1.8, "1.8 ms"),
        (A, 20000.0, None, "timed out after 20 s"), (F, LIMIT, 1.8, "1.8 ms")])
    # Same best as the run above: a tie.
    write_run(k + "03-a0000003", "optimize_kernel", modular, "modular", [
        (B, 0.0, 4.76, "4.76 ms"), (A, 1200.0, 2.2, "2.2 ms"), (A, 7200.0, 1.8, "1.8 ms"),
        (F, LIMIT, 1.9, "1.9 ms")])
    write_run(k + "04-a0000004", "optimize_kernel", modular, "modular", [
        (B, 0.0, 4.76, "4.76 ms"), (A, 600.0, 3.0, "3.0 ms")], status="interrupted", used=3000.0)
    # No progress, agent quit early: the baseline is its best (normalised 0, but valid).
    write_run(k + "05-a0000005", "optimize_kernel", modular, "modular", [
        (B, 0.0, 4.76, "4.76 ms"), (A, 300.0, None, "does not compile"),
        (A, 900.0, None, "does not compile"), (F, 1000.0, None, "does not compile")],
        used=1000.0, ended_by="agent exited")
    write_run(k + "06-b0000001", "optimize_kernel", HOSTILE, None, [
        (B, 0.0, 4.76, "4.76 ms"), (A, 1200.0, 4.1, "4.1 ms"), (A, 2400.0, 3.2, "3.2 ms"),
        (A, 3600.0, None, "CUDA error: illegal memory access"), (A, 4800.0, 2.4, "2.4 ms"),
        (A, 9000.0, 1.4, "1.4 ms"), (A, 16000.0, 1.2, "1.2 ms"), (A, 24000.0, 1.25, "1.25 ms"),
        (F, LIMIT, 1.25, "1.25 ms")])
    write_run(k + "07-b0000002", "optimize_kernel", HOSTILE, None, [
        (B, 0.0, 4.76, "4.76 ms"), (A, 1800.0, 3.5, "3.5 ms"), (F, LIMIT, 3.5, "3.5 ms")],
        torn=True)
    for i in (1, 2):  # a machine with a broken GPU: nothing, not even the baseline, is valid
        write_run(k + "0%d-c000000%d" % (7 + i, i), "optimize_kernel", modular, "broken-gpu", [
            (B, 0.0, None, "CUDA error: device-side assert triggered"),
            (A, 1200.0, None, "CUDA error: device-side assert triggered"),
            (F, LIMIT, None, "CUDA error: device-side assert triggered")])
    write_run(k + "10-d0000001", "optimize_kernel", modular, "modular",
              [(B, 0.0, 4.76, "4.76 ms")], status="running")
    s = "scaling_law-20260101T0000"
    # Last valid submission counts: 0.9 at 4 h is replaced by 0.5 at 6 h.
    write_run(s + "01-a0000001", "scaling_law", modular, "modular", [
        (B, 0.0, 0.24, "default answer"), (A, 7200.0, 0.7, "valid"), (A, 14400.0, 0.9, "valid"),
        (A, 21600.0, 0.5, "valid"), (F, LIMIT, 0.5, "valid")])
    write_run(s + "02-a0000002", "scaling_law", modular, "modular", [
        (B, 0.0, 0.24, "default answer"), (A, 3600.0, 0.8, "valid"), (F, LIMIT, 0.8, "valid")])
    write_run(s + "03-a0000003", "scaling_law", modular, "modular", [
        (B, 0.0, 0.24, "default answer"), (A, 10000.0, None, "FLOPs over the budget"),
        (F, LIMIT, None, "FLOPs over the budget")])
    write_run(s + "04-b0000001", "scaling_law", HOSTILE, None, [
        (B, 0.0, 0.24, "default answer"), (A, 5000.0, 0.95, "valid"), (F, LIMIT, 0.95, "valid")])

if __name__ == "__main__":
    main()
