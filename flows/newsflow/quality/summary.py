"""What a run keeps about validation: per table, the rows and expectations checked and failed; the Data Docs."""

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ValidationSummary:
    """The validation of one call (a batch's tables, or the run's groups), or of a whole run: summaries merge with +."""

    success: bool = True
    suites: dict[str, dict[str, int]] = field(default_factory=dict)  # per table: rows, expectations, failed, failed_rows
    expectations_evaluated: int = 0
    failures: list[dict] = field(default_factory=list)  # table, level, expectation, columns and what was observed
    data_docs: str = ""  # the Data Docs index, relative to settings.gx_dir
    seconds: float = 0.0

    @classmethod
    def of(cls, checks, data_docs: str, seconds: float) -> "ValidationSummary":
        """The summary of the TableChecks (newsflow.quality.checks) of one call."""
        checks = list(checks)
        outcomes = [o for check in checks for o in check.outcomes]
        suites = {
            check.table: {
                "rows": check.rows.height,
                "expectations": len(check.outcomes),
                "failed": sum(o.failed for o in check.outcomes),
                "failed_rows": len({row for o in check.outcomes for row in o.failed_rows}),
            }
            for check in checks
        }
        return cls(
            not any(o.fails_run for o in outcomes),
            suites,
            len(outcomes),
            [o.summary() for o in outcomes if o.failed],
            data_docs,
            round(seconds, 2),
        )

    def __add__(self, more: "ValidationSummary | None") -> "ValidationSummary":
        """One summary for a run whose tables were validated in several calls (its batches, then its groups)."""
        if more is None:
            return self
        suites = {table: dict(counts) for table, counts in self.suites.items()}
        for table, counts in more.suites.items():
            totals = suites.setdefault(table, dict.fromkeys(counts, 0))
            for key, value in counts.items():
                totals[key] += value
        return ValidationSummary(
            self.success and more.success,
            suites,
            self.expectations_evaluated + more.expectations_evaluated,
            self.failures + more.failures,
            more.data_docs or self.data_docs,
            round(self.seconds + more.seconds, 2),
        )

    def to_dict(self) -> dict:
        """As kept in runs.validation and in every Delta commit of the run (JSON)."""
        return asdict(self)


class ValidationFailed(Exception):
    """A table-level expectation failed, so nothing of the run may be published."""

    def __init__(self, message: str, summary: ValidationSummary):
        super().__init__(message)
        self.summary = summary
