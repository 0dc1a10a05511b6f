"""One process asking the operator one question, as a rule would: for the terminal tests.

    python -m tests.operator.ask OUT.json KIND TEXT [CHOICE...] [--deadline S]
        [--terminal PATH] [--lock FILE] [--dut NAME]

Writes the answer and the evidence lines (question and answer, timed) to OUT.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from certkit.evidence import EvidenceLog
from certkit.operator import TerminalOperator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("kind", choices=("confirm", "yes-no", "choose", "do-now"))
    parser.add_argument("text")
    parser.add_argument("choices", nargs="*")
    parser.add_argument("--deadline", type=float, default=30.0)
    parser.add_argument("--terminal", default="/dev/tty")
    parser.add_argument("--lock", type=Path)
    parser.add_argument("--dut", default="")
    args = parser.parse_args()
    evidence = EvidenceLog()
    operator = TerminalOperator(evidence, args.dut, args.terminal, args.lock)
    ask = {"confirm": operator.confirm, "yes-no": operator.yes_no, "do-now": operator.do_now}
    if args.kind == "choose":
        answer = operator.choose(args.text, args.choices, args.deadline)
    else:
        answer = ask[args.kind](args.text, args.deadline)
    items = evidence.since(0)
    args.out.write_text(json.dumps({
        "status": answer.status.value, "value": answer.value, "shown": answer.shown(),
        "evidence": [item.line() for item in items],
        # when the question was shown and answered, on the clock every process shares
        "asked": evidence.t0 + items[0].t, "answered": evidence.t0 + items[-1].t,
        "ended": time.monotonic()}))


if __name__ == "__main__":
    main()
