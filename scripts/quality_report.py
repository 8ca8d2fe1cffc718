#!/usr/bin/env python3
"""Wideband PESQ of the voice pipeline versus plain libopus under packet loss.

For each loss level (0, 5, 10, 20 %) and seed, the speech asset goes through
  - the pipeline: `voice-pipeline --mode pipeline` (LocalVoice -> emulated
    network with the seeded loss pattern, 30 ms delay and jitter -> adaptive
    jitter buffer, Opus FEC recovery, PLC), and
  - plain libopus: `voice-pipeline --mode plain` (same encoder settings, same
    loss pattern, PLC only, no jitter),
and both outputs are scored against the input with PESQ (ITU-T P.862.2,
wideband, 16 kHz). Prints a table; exits 1 if the pipeline scores below
plain libopus at any loss level (mean over seeds).

usage: scripts/quality_report.py [--seeds N] [--jitter-ms MS] [--bitrate BPS] [--expected-loss PCT] [--release]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSET = os.path.join(ROOT, "voice-client", "assets", "speech16k.wav")


def ensure_packages():
    try:
        import numpy  # noqa: F401
        import pesq  # noqa: F401
    except ImportError:
        print("quality_report: installing numpy and pesq with pip", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "numpy", "pesq"])


def read_wav(path):
    import numpy as np

    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2, "16-bit WAV expected"
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        if w.getnchannels() == 2:
            data = data.reshape(-1, 2).mean(axis=1)
        return w.getframerate(), data


def build(release):
    cmd = ["cargo", "build", "-q", "-p", "voice-client", "--bin", "voice-pipeline"]
    if release:
        cmd.append("--release")
    subprocess.check_call(cmd, cwd=ROOT)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release" if release else "debug", "voice-pipeline")


def run(binary, mode, loss, seed, args, out):
    cmd = [binary, ASSET, out, "--mode", mode, "--loss", str(loss), "--seed", str(seed),
           "--jitter-ms", str(args.jitter_ms), "--bitrate", str(args.bitrate)]
    if args.expected_loss is not None:
        cmd += ["--expected-loss", str(args.expected_loss)]
    line = subprocess.check_output(cmd, cwd=ROOT, text=True).strip().splitlines()[-1]
    return json.loads(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="loss patterns per level (default 3)")
    parser.add_argument("--jitter-ms", type=int, default=20, help="network jitter for the pipeline (default 20)")
    parser.add_argument("--bitrate", type=int, default=24000, help="Opus bitrate (default 24000)")
    parser.add_argument("--expected-loss", type=int, default=None,
                        help="expected loss told to the encoder for FEC (default: the crate's 10)")
    parser.add_argument("--release", action="store_true", help="build the binary in release mode")
    args = parser.parse_args()
    ensure_packages()
    from pesq import pesq

    binary = build(args.release)
    rate, reference = read_wav(ASSET)
    assert rate == 16000, "the asset is 16 kHz"
    rows = []
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for loss in (0, 5, 10, 20):
            scores = {"pipeline": [], "plain": []}
            fec = 0
            lost = 0
            underruns = 0
            max_delay = 0.0
            for seed in range(1, args.seeds + 1):
                for mode in ("pipeline", "plain"):
                    out = os.path.join(tmp, f"{mode}_{loss}_{seed}.wav")
                    stats = run(binary, mode, loss, seed, args, out)
                    _, degraded = read_wav(out)
                    n = min(len(reference), len(degraded))
                    scores[mode].append(pesq(16000, reference[:n], degraded[:n], "wb"))
                    if mode == "pipeline":
                        fec += stats["fec_recovered"]
                        lost += stats["lost"]
                        underruns += stats["underruns"]
                        max_delay = max(max_delay, stats["max_delay_ms"])
            mean = {m: sum(v) / len(v) for m, v in scores.items()}
            if mean["pipeline"] < mean["plain"]:
                failed = True
            rows.append((loss, mean["pipeline"], mean["plain"], lost, fec, underruns, max_delay))
    expected = 10 if args.expected_loss is None else args.expected_loss
    print(f"Wideband PESQ (P.862.2, 16 kHz), {args.bitrate} b/s Opus 20 ms, FEC expected loss {expected} %, mean of {args.seeds} seeds;")
    print(f"pipeline: {args.jitter_ms} ms jitter + 30 ms delay, jitter buffer, FEC, PLC; plain: same packets and loss pattern, PLC only")
    print()
    print("| loss % | pipeline PESQ | plain libopus PESQ | lost frames | FEC-recovered | underruns after adaptation | max buffer delay ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for loss, p, q, lost, fec, under, delay in rows:
        print(f"| {loss} | {p:.3f} | {q:.3f} | {lost} | {fec} | {under} | {delay:.0f} |")
    if failed:
        print("\nFAIL: the pipeline scored below plain libopus at some loss level", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
