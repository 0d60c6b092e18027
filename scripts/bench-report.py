#!/usr/bin/env python3
"""Writes BENCHMARKS.md (on stdout) from the raw figures scripts/bench left in DIR.

Usage: bench-report.py DIR

DIR holds, per command NAME and round-trip time RTT (ms): NAME.RTT.us (one
wall time a line, µs) and NAME.RTT.count (what the latency proxies counted
in the command's counted run); rss-NAME.txt (GNU time -v); startup.json
(hyperfine); binary-size; machine (key=value).
"""

import json
import os
import statistics
import sys

results = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))


def machine():
    info = {}
    with open(os.path.join(results, "machine")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            info[key] = value
    return info


m = machine()
RTTS = [int(r) for r in m.get("rtts", "0").split()]
RECORDS = int(m["records"])
SCALE = int(m.get("scale_records", "0") or 0)


def samples(name, rtt):
    """Wall times of NAME at RTT in ms, or None when it did not run."""
    path = os.path.join(results, f"{name}.{rtt}.us")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        s = [int(line) / 1000 for line in f if line.strip()]
    return s or None


def med(name, rtt):
    s = samples(name, rtt)
    return statistics.median(s) if s else None


def counts(name, rtt):
    """What the proxies counted for NAME at RTT, or None."""
    path = os.path.join(results, f"{name}.{rtt}.count")
    if not os.path.exists(path):
        return None
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key:
                out[key] = int(value)
    return out


def ms(value):
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def spread(name, rtt):
    s = samples(name, rtt)
    if not s:
        return "–"
    return f"{ms(min(s))} – {ms(max(s))}, n={len(s)}"


def trips(name, rtt):
    c = counts(name, rtt)
    if c is None:
        return "–"
    return f"{c['round_trips']:,} ({c['connections']:,})"


def rss_kib(name):
    path = os.path.join(results, f"rss-{name}.txt")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            if "Maximum resident set size" in line:
                return int(line.rsplit(":", 1)[1])
    return None


def mb(kib):
    return "–" if kib is None else f"{kib * 1024 / 1e6:.1f} MB"


def verdict(ok):
    return "**yes**" if ok else "**no**"


out = []
w = out.append

w("# Benchmarks")
w("")
w("imglife against the tools a user would otherwise script, side by side in one run, on the")
w("services the tests use: Debian's `docker-registry` (configured as `scripts/services.sh` does), the")
w("GitLab and Gitea emulators of `tests/support` (`gitlab-emulator`, `gitea-emulator`) and its")
w("S3 server (`s3-server`: s3s-fs 0.14.1, signatures checked), all on 127.0.0.1, each behind a")
w("latency proxy (`latency-proxy`) at **0, 20 and 80 ms round-trip time**. This file is")
w("rewritten by")
w("")
w("```sh")
w("scripts/bench")
w("```")
w("")
w("which installs what is missing (skopeo, hyperfine, GNU time, curl, jq, rclone), builds the")
w("release binaries, starts and stops the services, seeds the fixtures and runs every comparison.")
w("The figures below are from **one run on one machine**: read the ratios; the absolute times")
w("say as much about the machine (and whatever else ran on it) as about imglife.")
w("")
w("## Machine and run")
w("")
w("| | |")
w("|---|---|")
w(f"| date (UTC) | {m['date']} (started {m.get('bench_started', '?')}, "
  f"{int(m.get('bench_seconds', '0')) // 60} min) |")
w(f"| CPU | {m['cpu']} ({m['nproc']} cores) |")
w(f"| memory | {m['mem']} |")
w(f"| OS, kernel | {m['os']}, {m['kernel']} |")
w(f"| imglife | commit `{m['commit']}`, `cargo build --release` ({m['rustc']}) |")
w(f"| competitors | {m['skopeo']}; {m['curl']}; GNU xargs; {m.get('rclone', 'rclone')}; {m['hyperfine']} |")
w(f"| services | {m['registry']}; GitLab emulator, Gitea emulator and s3s-fs with {RECORDS:,} "
  "seeded records each |")
w(f"| round-trip times | {', '.join(f'{r} ms' for r in RTTS)} (each way: half) |")
w("")

# --- round trips -----------------------------------------------------------
w("## How to read the tables")
w("")
w("- **RTT**: the round-trip time the proxies add (each chunk is delayed by RTT/2 in each")
w("  direction, and a new connection pays RTT before its first bytes go out: the TCP")
w("  handshake).")
w("- **round trips (connections)**: counted at the proxies, summed over every connection the")
w("  command opened, in a counted run of its own: 1 per TCP handshake, plus 1 each time the")
w("  client sends after the server has sent (its first request too). One HTTP/1.1 request on a")
w("  fresh connection is 2; each further request on a kept-alive connection adds 1. Requests")
w("  running in parallel on several connections each count: the count is the work, the wall")
w("  time the latency actually paid.")
w("- **median** and **spread** (min – max, n = timed runs) of the wall time; **ratio** =")
w("  imglife's median / the competitor's.")
w("")

# --- timings per scenario ----------------------------------------------------
# (title, imglife's command, imglife's name, competitor label, competitor name,
#  target ratio per RTT (None: context), only at these RTTs)
def list_target(rtt):
    return 0.25 if rtt == 20 else 0.5


SCENARIOS = [
    ("1 inspection, vs skopeo", "`imglife register` (registry source, fs store)", "a1_imglife",
     "`skopeo inspect`", "a1_skopeo", lambda r: 0.5, None),
    ("1 inspection, vs the curl floor", "`imglife register` (registry source, fs store)",
     "a1_imglife", "`curl`, the same request", "a1_curl", lambda r: 1.5, None),
    ("2 publishing to GitLab", "`imglife register` (all flags, GitLab store)", "a2_imglife",
     "one `curl -X PUT`", "a2_curl", lambda r: 1.5, None),
    (f"3 reading {RECORDS:,} records from GitLab", "`imglife app list` (cold)", "a3_imglife",
     "list + `xargs -P16 curl`", "a3_xargs", list_target, None),
    (f"3 reading {RECORDS:,} records from GitLab, one curl per record",
     "`imglife app list` (cold)", "a3_imglife", "list + `xargs -P16 -n1 curl`", "a3_xargs_n1",
     lambda r: 0.5, [0]),
    (f"3 reading {RECORDS:,} records from GitLab, sequentially", "`imglife app list` (cold)",
     "a3_imglife", "list + sequential `curl` loop", "a3_curl_seq", lambda r: None, [0]),
    ("5 publishing to S3", "`imglife register` (all flags, S3 store)", "b2_s3_imglife",
     "one `curl --aws-sigv4` PUT", "b2_s3_curl", lambda r: 1.5, None),
    (f"5 reading {RECORDS:,} records from S3", "`imglife app list` (cold)", "b3_s3_imglife",
     "`rclone copy --transfers 16`", "b3_rclone", lambda r: 0.5, None),
    ("6 publishing to Gitea", "`imglife register` (all flags, Gitea store)", "c2_gitea_imglife",
     "one `curl --upload-file`", "c2_gitea_curl", lambda r: 1.5, None),
    (f"6 reading {RECORDS:,} records from Gitea", "`imglife app list` (cold)", "c3_gitea_imglife",
     "list + `xargs -P16 curl` (file lists, then files)", "c3_gitea_xargs", list_target, None),
]

w("## Time and round trips")
w("")
summary = []  # (scenario, rtt, ratio, target, ok) for the summary of targets
for title, mine_label, mine, other_label, other, target_of, only in SCENARIOS:
    rtts = [r for r in RTTS if (only is None or r in only) and samples(mine, r) and samples(other, r)]
    if not rtts:
        continue
    w(f"### {title}")
    w("")
    w(f"imglife: {mine_label}; competitor: {other_label}.")
    w("")
    w("| RTT | imglife | spread | round trips (conns) | competitor | spread | round trips (conns) "
      "| ratio | target | met? |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for rtt in rtts:
        a, b = med(mine, rtt), med(other, rtt)
        ratio = a / b
        target = target_of(rtt)
        if target is None:
            t, ok = "(context)", "–"
        else:
            t, ok = f"≤ {target}x", verdict(ratio <= target)
            summary.append((title, rtt, f"{ratio:.2f}x", t, ratio <= target))
        w(f"| {rtt} ms | {ms(a)} | {spread(mine, rtt)} | {trips(mine, rtt)} | {ms(b)} | "
          f"{spread(other, rtt)} | {trips(other, rtt)} | {ratio:.2f}x | {t} | {ok} |")
    w("")

# Warm status (no competitor: an absolute target at 20 ms).
w(f"### 5 warm `status` over {RECORDS:,} unchanged S3 records")
w("")
if m.get("cache") == "yes":
    w("`imglife status --output json` with `IMGLIFE_CACHE__DIR` set to a directory of this latency,")
    w("filled by one run before the rounds (the listing is read again; no record is downloaded).")
    w("")
    w("Beside it, the floor any client pays on this server: the same ListObjectsV2 pages")
    w("fetched by `curl --aws-sigv4`, one after the other (continuation tokens), nothing else;")
    w("**imglife's own part** is the difference.")
    w("")
    w("| RTT | imglife | spread | round trips (conns) | listing alone (curl) | round trips (conns) "
      "| imglife's own part | target | met? |")
    w("|---|---|---|---|---|---|---|---|---|")
    for rtt in RTTS:
        a = med("b4_s3_status_warm", rtt)
        if a is None:
            continue
        floor = med("b4_s3_list_curl", rtt)
        if floor is None:
            own = "–"
        elif a >= floor:
            own = ms(a - floor)
        else:
            # curl opens a connection per page; imglife keeps one.
            own = "none measurable (faster than the listing alone)"
        if rtt == 20:
            t, ok = "≤ 1 s", verdict(a <= 1000)
        else:
            t, ok = "(context)", "–"
        w(f"| {rtt} ms | {ms(a)} | {spread('b4_s3_status_warm', rtt)} | "
          f"{trips('b4_s3_status_warm', rtt)} | {ms(floor) if floor is not None else '–'} | "
          f"{trips('b4_s3_list_curl', rtt)} | {own} | {t} | {ok} |")
    w("")
else:
    w("**Not measured**: this build of imglife has no read cache (`status --help` names no")
    w("`--no-cache`). Target (≤ 1 s at 20 ms): **no**.")
    w("")

# --- the targets of issue 15 -----------------------------------------------
w("## Latency targets (20 ms RTT)")
w("")
w("| target | measured | bound | met? |")
w("|---|---|---|---|")


def at20(name):
    return med(name, 20) if 20 in RTTS else None


reg, reg_c, skopeo = at20("a1_imglife"), counts("a1_imglife", 20), at20("a1_skopeo")
if reg is not None and reg_c is not None:
    bound = reg_c["round_trips"] * 20 + 10
    w(f"| `register` (registry source) ≤ round trips × RTT + 10 ms | {ms(reg)}, "
      f"{reg_c['round_trips']} round trips | {reg_c['round_trips']} × 20 ms + 10 ms = {ms(bound)} "
      f"| {verdict(reg <= bound)} |")
else:
    w("| `register` (registry source) ≤ round trips × RTT + 10 ms | not measured | | **no** |")
if reg is not None and skopeo is not None:
    w(f"| `register` ≤ 0.5× `skopeo inspect` | {ms(reg)} vs {ms(skopeo)}: {reg / skopeo:.2f}x "
      f"| ≤ 0.5x | {verdict(reg <= 0.5 * skopeo)} |")
else:
    w("| `register` ≤ 0.5× `skopeo inspect` | not measured | | **no** |")
for store, mine, other in [("GitLab", "a3_imglife", "a3_xargs"),
                           ("Gitea", "c3_gitea_imglife", "c3_gitea_xargs")]:
    a, b = at20(mine), at20(other)
    label = f"cold `app list`, {RECORDS:,} records, {store} ≤ 0.25× list + `xargs -P16 curl`"
    if a is not None and b is not None:
        w(f"| {label} | {ms(a)} vs {ms(b)}: {a / b:.2f}x | ≤ 0.25x | {verdict(a <= 0.25 * b)} |")
    else:
        w(f"| {label} | not measured | | **no** |")
warm = at20("b4_s3_status_warm") if m.get("cache") == "yes" else None
if warm is not None:
    w(f"| warm `status`, {RECORDS:,} unchanged S3 records ≤ 1 s | {ms(warm)} | ≤ 1 s "
      f"| {verdict(warm <= 1000)} |")
else:
    w(f"| warm `status`, {RECORDS:,} unchanged S3 records ≤ 1 s | not measured (no read cache) "
      "| | **no** |")
w("")

# --- ratio targets at a glance -------------------------------------------------
missed = [s for s in summary if not s[4]]
w("## Ratio targets at a glance")
w("")
if missed:
    w(f"{len(summary) - len(missed)} of {len(summary)} ratio targets met over all latencies; not met:")
    w("")
    for title, rtt, ratio, t, _ in missed:
        w(f"- {title} at {rtt} ms: {ratio} (target {t})")
else:
    w(f"All {len(summary)} ratio targets met over all latencies.")
w("")

# --- start-up --------------------------------------------------------------
with open(os.path.join(results, "startup.json")) as f:
    startup = {r["command"]: r for r in json.load(f)["results"]}
imglife_startup = next(v for k, v in startup.items() if k.endswith("imglife --version"))
startup_ms = imglife_startup["median"] * 1000
w("## Start-up")
w("")
w("`hyperfine -N --warmup 20 --runs 200` (no shell):")
w("")
w("| command | median | mean ± σ | target | met? |")
w("|---|---|---|---|---|")
for command, r in startup.items():
    name = command.rsplit("/", 1)[-1]
    if command.endswith("imglife --version"):
        t, ok = "≤ 5 ms", verdict(startup_ms <= 5)
    else:
        t, ok = "(context)", "–"
    w(f"| `{name}` | {ms(r['median'] * 1000)} | {ms(r['mean'] * 1000)} ± "
      f"{ms(r['stddev'] * 1000)} | {t} | {ok} |")
w("")

# --- memory and size -------------------------------------------------------
w("## Peak RSS (`/usr/bin/time -v`, one run each, no proxy)")
w("")
w("| command | peak RSS | target | met? |")
w("|---|---|---|---|")
rows = [
    ("a1_imglife", "`imglife register` (registry source, fs store)", 10),
    ("a2_imglife", "`imglife register` (all flags, GitLab store)", 10),
    ("b2_s3_imglife", "`imglife register` (all flags, S3 store)", 10),
    ("c2_gitea_imglife", "`imglife register` (all flags, Gitea store)", 10),
    ("a3_imglife", f"`imglife app list` ({RECORDS:,} records, GitLab)", None),
    ("b3_s3_imglife", f"`imglife app list` ({RECORDS:,} records, S3)", None),
    ("c3_gitea_imglife", f"`imglife app list` ({RECORDS:,} records, Gitea)", None),
]
if SCALE:
    rows += [
        ("d_fs_list", f"`imglife app list` ({SCALE:,} records, filesystem)", 150),
        ("d_fs_status", f"`imglife status` ({SCALE:,} records, filesystem)", 150),
        ("d_fs_list_json", f"`imglife app list --output json` ({SCALE:,} records, filesystem)", None),
        ("d_s3_list", f"`imglife app list` ({SCALE:,} records, S3)", 150),
        ("d_s3_status", f"`imglife status` ({SCALE:,} records, S3)", 150),
    ]
rows += [
    ("a3_startup", "`imglife --version`", None),
    ("a1_skopeo", "`skopeo inspect`", None),
    ("a1_curl", "`curl` (the request of scenario 1)", None),
    ("a2_curl", "`curl -X PUT`", None),
    ("a3_curl_batch", "one `curl` downloading 1,000 records (an `xargs` batch)", None),
]
for name, label, target in rows:
    kib = rss_kib(name)
    if target is None:
        w(f"| {label} | {mb(kib)} | (context) | – |")
    elif kib is None:
        w(f"| {label} | not measured | < {target} MB | **no** |")
    else:
        w(f"| {label} | {mb(kib)} | < {target} MB | {verdict(kib * 1024 < target * 1e6)} |")
w("")
if SCALE:
    listed = []
    for store in ("fs", "s3"):
        path = os.path.join(results, f"scale-{store}.listed")
        if os.path.exists(path):
            with open(path) as f:
                listed.append(f"{store}: {f.read().strip()}")
    if listed:
        w(f"Records `app list` returned in scenario 7 (expected {SCALE:,}): {', '.join(listed)}.")
        w("")
with open(os.path.join(results, "binary-size")) as f:
    size = int(f.read())
w("## Binary size")
w("")
w("| | size | target | met? |")
w("|---|---|---|---|")
w(f"| `target/release/imglife` | {size / 1e6:.2f} MB ({size:,} bytes) | ≤ 15 MB | {verdict(size <= 15e6)} |")
w("")

# --- method ----------------------------------------------------------------
w("## Method")
w("")
w("- **Latency.** `latency-proxy` (`tests/support/src/latency.rs`) listens on 127.0.0.1 in front")
w("  of each service and forwards every chunk RTT/2 after reading it, in each direction, queued")
w("  with its due time (the delay adds latency without limiting throughput); end-of-stream is")
w("  forwarded the same way. The kernel accepts connections at once, so the proxy holds a new")
w("  connection's first bytes until RTT after accept (the SYN / SYN-ACK round trip). A fresh")
w("  proxy set runs per RTT; at 0 ms the commands go through it too, so that every figure has its")
w("  round trips counted the same way. Each command's counts come from a counted run of its")
w("  own: the first warm-up round (untimed; the script waits until every proxied connection has")
w("  closed before and after reading the counters); where a scenario has no warm-up (reading at")
w("  80 ms, the one-curl-per-record loops), the first timed round's counters, read after the")
w("  timer stopped.")
w(f"- **Interleaved A/B.** Each scenario runs {m['warmup']} untimed warm-up rounds of all its")
w(f"  commands (the reading scenarios 1), then timed rounds: {m['rounds']} at 0 and 20 ms,")
w(f"  {m.get('rounds_80', '?')} at 80 ms; reading {RECORDS:,} records {m['list_rounds']} at 0 ms,")
w(f"  {m.get('list_rounds_20', '?')} at 20 ms and {m.get('list_rounds_80', '?')} at 80 ms (no")
w("  warm-up there: a run takes minutes). Every round runs each command once and the order")
w("  rotates from round to round (A B C, B C A, C A B), so drift of the machine (other builds")
w("  run on it) hits every command alike. Wall time is read from bash's `$EPOCHREALTIME` around")
w("  the command, with no process started in between other than the command's own.")
w(f"- The two **one-curl-per-record** variants run at 0 ms only ({m['seq_rounds']} timed")
w("  round(s), interleaved with `imglife app list`): at 80 ms they would take ten minutes a run.")
w("- **(1) Inspection.** The image is pushed to the registry by `bench-fixtures push-image`:")
w("  one linux/amd64 OCI manifest whose annotations name the base and the platforms, and whose")
w("  config carries the same as labels. `imglife register --image … --revision x --project g/p`")
w("  with `IMGLIFE_REGISTRY__PROVIDER=fs` reads base and platforms from the manifest")
w("  annotations and writes the record (atomically, fsync'd) to a temporary directory;")
w("  `skopeo inspect --tls-verify=false docker://…` reads the manifest, the config blob and the")
w("  tag list (after trying HTTPS on the plain-HTTP registry: it counts in its round trips). The")
w("  **curl floor** issues the one request imglife makes against this registry:")
w("  `GET /v2/<repo>/manifests/<tag>` with the manifest `Accept` list, in one curl process.")
w("- **(2) Publishing.** `imglife register` with `--base` and `--platform` (no registry asked),")
w("  GitLab store on a separate, empty emulator, against one `curl -X PUT --data-binary")
w("  @record.json` of the very bytes imglife stores (made by imglife's own `--dry-run --output")
w("  json`) to the same generic-package URL.")
w("- **(3) Reading.** A second emulator is seeded at start-up (`gitlab-emulator --seed N`) with")
w("  the deterministic fleet of `tests/support/src/fixtures.rs`. `imglife app list --output json`")
w("  (`--no-cache` when the build has a read cache: these are cold reads) lists the generic")
w("  packages and downloads every `record.json`, then validates and sorts. Every curl variant")
w("  lists with one curl per page (100 a page, following `X-Next-Page`) plus one `jq` over the")
w("  pages, then downloads: with `xargs -P16 curl` as written (xargs packs as many URLs into one")
w("  curl as fit its command line, about 1,100, so some 9 curls run at once, each over one")
w("  kept-alive connection: the strongest of the three); with `xargs -P16 -n1 curl` (a process")
w("  and a connection per record, 16 at a time); and with a sequential loop of one curl per")
w("  record. The curl variants only download; imglife also parses, checks and sorts every")
w("  record.")
w("- **(5) S3.** The tests' `s3-server` (s3s-fs 0.14.1, which checks every SigV4 signature;")
w("  path-style, plain HTTP). Publishing: `imglife register` with `--base` and `--platform` into")
w("  an empty bucket, against one `curl --aws-sigv4 aws:amz:us-east-1:s3 -T record.json` of the")
w("  same bytes to the same key (`x-amz-content-sha256: UNSIGNED-PAYLOAD`; imglife hashes the")
w(f"  body). Reading: a second server holds the same {RECORDS:,}-record fleet under the prefix")
w("  `fleet/`; `imglife app list --output json` lists it (ListObjectsV2, 1,000 keys a page) and")
w("  downloads every record, against `rclone copy --transfers 16` of the prefix into an emptied")
w("  directory (it writes files; imglife parses, checks and sorts). Warm `status`: the same")
w("  prefix, with the read cache filled by one run before the rounds.")
w("- **(6) Gitea.** `gitea-emulator` (`tests/support/src/gitea`, written from Gitea's source).")
w("  Publishing: a new record each run (a new version: Gitea answers 409 to a file it already")
w("  holds), against one `curl --upload-file record.json` to a new version. imglife names the")
w("  file after its content and lists the version's files once uploaded (to remove a replaced")
w(f"  record). Reading: a second emulator seeded with the {RECORDS:,}-record fleet. The script")
w("  does what Gitea's API asks of anyone: page 1 of `GET /api/v1/packages/platform?type=generic")
w("  &limit=50` (50 is Gitea's cap) for `X-Total-Count`, the other pages in one curl (URL")
w("  globbing, one connection), then with `xargs -P16` each version's file list")
w("  (`/api/v1/packages/platform/generic/NAME/VERSION/files`: the newest `record-*.json` is the")
w("  record) and, second wave, the files themselves.")
w("- **(7) Memory at scale.** `s3-server --seed N` writes the fleet as files, object")
w("  `fleet/<name>/<version>.json` at that very path, which is also the filesystem store's")
w("  layout: `app list` and `status` (cold) read it once through S3 and once as a filesystem")
w("  store (`registry.max_records` raised above N), under `/usr/bin/time -v`.")
w("- **(4)** Start-up by `hyperfine -N` (no shell in between); peak RSS by `/usr/bin/time -v`;")
w("  binary size by `stat` of the stripped release binary (profile in the root `Cargo.toml`).")
w("- Raw figures of the last run: `target/bench/` (`NAME.RTT.us`: one wall time per line, µs;")
w("  `NAME.RTT.count`: the proxies' counters).")
w("")

findings = os.path.join(here, "bench-findings.md")
if os.path.exists(findings):
    with open(findings) as f:
        w(f.read().rstrip("\n"))
        w("")

sys.stdout.write("\n".join(out))
