"""A stopping rule that never stops, for tests that exercise everything but the decision."""

from __future__ import annotations

from tailstop.rules import Decision, Rule


class Never(Rule):
    """Never stops (and says how many trials it saw)."""

    def decide(self, estimate, state):
        return Decision(False, f"never ({state.n_trials} trials)", "Never")

    def describe(self):
        return "Never()"
