"""Prometheus metrics of the service: timings, verdicts, counts by type, errors, model version.

Labels are drawn from small fixed sets (route templates, verdicts, sensitive-data types,
status codes): no address, name or value ever becomes a label. Each app has its own registry
so that several apps (tests) do not collide. With several uvicorn workers each worker answers
``/metrics`` for itself; scrape each worker or run one worker per container.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's collectors, registered in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "misdirect_http_requests_total",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.request_latency = Histogram(
            "misdirect_http_request_duration_seconds",
            "HTTP request duration by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.check_latency = Histogram(
            "misdirect_check_duration_seconds",
            "Time to score one check request (analysis + history + model)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.verdicts = Counter(
            "misdirect_check_verdicts_total",
            "Message verdicts returned by /v1/check",
            ["verdict"],
            registry=r,
        )
        self.recipient_verdicts = Counter(
            "misdirect_recipient_verdicts_total",
            "Recipient verdicts returned by /v1/check",
            ["verdict"],
            registry=r,
        )
        self.audit_verdicts = Counter(
            "misdirect_audit_would_verdict_total",
            "Audit mode: verdicts the model would have returned (the answer was 'send')",
            ["verdict"],
            registry=r,
        )
        self.sensitive = Counter(
            "misdirect_sensitive_detected_total",
            "Sensitive items detected in checked messages, by type (counts only)",
            ["kind"],
            registry=r,
        )
        self.feedback = Counter(
            "misdirect_feedback_total", "Feedback received, by action", ["action"], registry=r
        )
        self.sent = Counter(
            "misdirect_sent_total", "Messages learned from /v1/sent", registry=r
        )
        self.errors = Counter(
            "misdirect_errors_total",
            "Errors by kind (validation, too_large, auth, timeout, not_ready, internal)",
            ["kind"],
            registry=r,
        )
        self.model_info = Gauge(
            "misdirect_model_info", "The model bundle being served", ["model_version"], registry=r
        )
        self.model_loaded = Gauge(
            "misdirect_model_loaded_timestamp_seconds",
            "When the served bundle was loaded (Unix time)",
            registry=r,
        )
        self.reloads = Counter(
            "misdirect_model_reloads_total", "Model reloads by outcome", ["outcome"], registry=r
        )
        self.ready = Gauge("misdirect_ready", "1 when a model is loaded and serving", registry=r)

    def set_model(self, version: str, loaded_at: float) -> None:
        """Point the info gauge at the served version only."""
        self.model_info.clear()
        self.model_info.labels(model_version=version).set(1)
        self.model_loaded.set(loaded_at)
        self.ready.set(1)
