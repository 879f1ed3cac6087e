"""A device on stdin/stdout that answers PING and INFO like the real firmware, answers the first
N INFER requests, then goes silent (a hung board). Used by tests/test_bench.py as

    embbert-bench --port "pipe:python tests/silent_device.py SHA256 CONFIG_JSON N FORMAT QUANT"

It imports only the protocol codec, so it starts in a blink even on a loaded machine (the bench
gives a just-launched device `--timeout` seconds to answer its first PING).
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time

from embbert.device import protocol as P


def main(sha: str, config: dict[str, int], answer: int, format_version: int,
         quant_version: int) -> None:
    info = P.DeviceInfo(protocol_version=P.PROTOCOL_VERSION, max_payload=P.MAX_PAYLOAD,
                        format_version=format_version, quant_version=quant_version,
                        sha256=sha, config=config, arena_bytes=4096, clock_hz=25_000_000,
                        counter="instructions", init_status=0, board="silent")
    dec = P.FrameDecoder()
    served = 0
    while chunk := os.read(0, 4096):
        for f in dec.feed(chunk):
            if not f.ok:
                continue
            if f.type == P.PING:
                reply = P.encode_frame(P.PONG, f.seq, f.payload)
            elif f.type == P.INFO:
                reply = P.encode_frame(P.INFO_RESP, f.seq, P.encode_info(info))
            elif f.type == P.INFER and served < answer:
                served += 1
                n = config["num_labels"]
                payload = struct.pack(f"<BBHQ{n}f", 0, n, 1, 1000, *([0.0] * n))
                reply = P.encode_frame(P.INFER_RESP, f.seq, payload)
            else:
                time.sleep(3600)  # hung: never answers again
                return
            os.write(1, reply)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
         int(sys.argv[5]))
