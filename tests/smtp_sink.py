"""A tiny SMTP server run as its own process by the e-mail tests: every message it accepts is
written to ``<dir>/<n>.json`` (envelope sender, recipients, raw content) before it answers 250.

    python tests/smtp_sink.py --host 127.0.0.1 --port 2525 --dir /tmp/mails
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class WriteToFiles:
    def __init__(self, directory: Path) -> None:
        self.directory, self.count, self.lock = directory, 0, threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        record = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                  "content": envelope.original_content.decode("utf-8", "replace")}
        tmp = self.directory / f".{n}.tmp"
        tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.directory / f"{n:04d}.json")  # readers never see half a message
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(WriteToFiles(args.dir), hostname=args.host, port=args.port)
    controller.start()
    try:
        threading.Event().wait()  # until the test terminates the process
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
