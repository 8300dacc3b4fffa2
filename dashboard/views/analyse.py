"""Analyse a call: upload a recording, choose options, watch the stages, land on its review."""

from __future__ import annotations

import json
from datetime import date

import streamlit as st

from analysis.config import Config
from analysis.errors import CallReviewError
from dashboard import data, ingest, ui
from dashboard.errors import UploadError

MODELS = ["tiny.en", "base.en", "small.en", "medium.en", "large-v3"]
SPEAKER_MODES = {
    "auto": "Automatic",
    "pyannote": "Voice model (pyannote)",
    "cluster": "Cluster voices",
    "channels": "One speaker per channel only",
}


@st.cache_resource(show_spinner=False, max_entries=2)
def analyzer_for(config_json: str):
    """One analyser per configuration, kept between runs (models load once)."""
    from analysis import Analyzer

    return Analyzer(Config.from_dict(json.loads(config_json), source="dashboard options"))


def options_ui(base: Config) -> ingest.AnalysisOptions:
    c1, c2 = st.columns(2)
    channel = c1.selectbox(
        "Agent's channel (two-channel recordings)",
        ["auto", "left", "right"],
        format_func={"auto": "Find out from what is said", "left": "Left", "right": "Right"}.get,
        key="an_channel",
        help="Contact-centre recorders usually put the agent on one channel; leave automatic when unsure.",
    )
    diar_fields = type(base.diarization).model_fields
    modes = [m for m in SPEAKER_MODES if m in str(diar_fields["backend"].annotation)] if "backend" in diar_fields else ["auto"]
    speakers = c2.selectbox(
        "Speakers (single-channel recordings)",
        modes,
        format_func=SPEAKER_MODES.get,
        key="an_speakers",
        help="How the agent and the customer are told apart when both are on one channel.",
    )
    c1, c2 = st.columns(2)
    default_model = base.asr.model
    models = [default_model] + [m for m in MODELS if m != default_model]
    model = c1.selectbox(
        "Speech-recognition model",
        models,
        key="an_model",
        help=f"{default_model} is bundled and works offline; larger models are more accurate and slower, and must be installed.",
    )
    rubric_file = c2.file_uploader(
        "Rubric (optional, TOML)", type=["toml"], key="an_rubric", max_upload_size=1, help="Leave empty to score with the default rubric."
    )
    rubric_path = None
    if rubric_file is not None:
        from analysis.rubric import parse_rubric

        raw = rubric_file.getvalue()
        try:
            rubric = parse_rubric(raw, source=rubric_file.name)
        except CallReviewError as exc:
            st.error(f"Rubric refused: {exc}")
            st.stop()
        folder = data.catalog_dir()
        rubric_path = str(ingest.save_upload(folder, rubric_file.name, raw).resolve())
        st.caption(f"Rubric {rubric.name} {rubric.version}")
    c1, c2, c3 = st.columns(3)
    agent = c1.text_input("Agent name", key="an_agent", placeholder="e.g. Sam")
    team = c2.text_input("Team", key="an_team", placeholder="e.g. Billing")
    when = c3.date_input("Call date", value=None, key="an_date", format="YYYY-MM-DD")
    return ingest.AnalysisOptions(
        agent_channel=channel,
        diarization=speakers,
        model=model,
        rubric=rubric_path,
        agent=agent.strip() or None,
        team=team.strip() or None,
        started_at=when.isoformat() if isinstance(when, date) else None,
    )


def main() -> None:
    st.title("Analyse a call")
    folder = data.catalog_dir()
    st.caption(
        f"Upload one recording; callreview transcribes and scores it here and adds it to `{folder}`. "
        f"For many recordings use `callreview batch`. Up to {ingest.MAX_UPLOAD_MB} MB; {', '.join(ingest.UPLOAD_TYPES)}."
    )
    upload = st.file_uploader(
        "Recording", type=list(ingest.UPLOAD_TYPES), key="an_upload", max_upload_size=ingest.MAX_UPLOAD_MB
    )
    base = Config()
    options = options_ui(base)
    if upload is None:
        st.info("Choose a recording to analyse (a call between an agent and a customer, ideally two-channel).", icon=":material/upload:")
        return
    content = upload.getvalue()
    try:
        ingest.check_upload(upload.name, len(content), content[:16])
    except UploadError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if not st.button("Analyse", type="primary", key="an_go", icon=":material/play_arrow:"):
        return
    path = ingest.save_upload(folder, upload.name, content)
    config = options.config(base)
    stages = list(ingest.STAGES)
    bar = st.progress(0.0, text="Starting")
    with st.status("Analysing the call", expanded=True) as status:
        seen: list[str] = []

        def progress(stage: str) -> None:
            seen.append(stage)
            i = stages.index(stage) if stage in stages else len(seen) - 1
            bar.progress(min(1.0, i / len(stages)), text=ingest.STAGES.get(stage, stage))
            st.write(f"{ingest.STAGES.get(stage, stage)}…")

        try:
            progress("load")
            analyzer = analyzer_for(json.dumps(config.to_dict(), sort_keys=True))
            report = ingest.analyse_and_index(folder, path, options, analyzer, progress)
        except CallReviewError as exc:
            status.update(label="Analysis failed", state="error")
            st.error(str(exc), icon=":material/error:")
            return
        bar.progress(1.0, text="Done")
        status.update(label=f"Analysed {report.call.call_id}", state="complete")
    ui.open_call(report.call.call_id)


main()
