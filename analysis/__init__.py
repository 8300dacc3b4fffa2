"""callreview: call review and tone analysis for contact-centre recordings.

The pipeline is importable as ``analysis``::

    from analysis import Analyzer, Config
    report = Analyzer(Config()).analyze("call.wav")
"""

from __future__ import annotations

__version__ = "0.1.0"

from .config import Config  # noqa: E402
from .errors import AudioError, CallReviewError, ConfigError, ModelUnavailableError, OutputError, SchemaError  # noqa: E402
from .pipeline import Analyzer  # noqa: E402
from .records import SCHEMA_VERSION, CallReport, dump_report, load_report  # noqa: E402

__all__ = [
    "Analyzer",
    "AudioError",
    "CallReport",
    "CallReviewError",
    "Config",
    "ConfigError",
    "ModelUnavailableError",
    "OutputError",
    "SCHEMA_VERSION",
    "SchemaError",
    "__version__",
    "dump_report",
    "load_report",
]
