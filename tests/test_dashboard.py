"""The dashboard's pages driven by Streamlit's AppTest, on a real batch output folder.

The folder is made once per session by the real ``callreview batch`` command on the
five sample calls (with a manifest giving agents, teams and start times); tests
that write (notes, overrides, uploads) work on a copy of it. Expected values are
read back independently from the catalog (SQL) and the JSON reports.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"
APP = ROOT / "dashboard" / "app.py"

MANIFEST = [
    # file, call_id, agent, team, started_at
    ("calm_agent.flac", "calm_agent", "Sam Carter", "Billing", "2025-03-03T09:15:00"),
    ("rude_agent.flac", "rude_agent", "Derek Moss", "Billing", "2025-03-12T14:40:00"),
    ("mono_call.flac", "mono_call", "Priya Shah", "Support", "2025-03-05T11:00:00"),
    ("tel_billing_8k.wav", "tel_billing_8k", "Sam Carter", "Billing", "2025-03-19T10:05:00"),
    ("tel_support_8k.wav", "tel_support_8k", "Priya Shah", "Support", "2025-03-26T16:20:00"),
]


def build_batch_output(base: Path) -> Path:
    """Run ``callreview batch`` on the sample calls into ``base/batch`` once (reused when already complete).

    ``CALLREVIEW_TEST_BATCH_DIR`` names a folder to build into and reuse across pytest runs.
    """
    reuse = os.environ.get("CALLREVIEW_TEST_BATCH_DIR")  # a folder made by an earlier run (speeds up iterating)
    out = Path(reuse) if reuse else base / "batch"
    done = out / ".test-complete"
    if done.exists():
        return out
    missing = [f for f, *_ in MANIFEST if not (SAMPLES / f).exists()]
    if missing:
        pytest.skip(f"sample calls missing: {', '.join(missing)} (run scripts/make_samples.py)")
    base.mkdir(parents=True, exist_ok=True)
    manifest = base / "manifest.csv"
    manifest.write_text(
        "path,call_id,agent,team,started_at\n" + "".join(f"{SAMPLES / f},{cid},{a},{t},{s}\n" for f, cid, a, t, s in MANIFEST)
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    p = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "batch", str(manifest), "--out", str(out), "--archive-root", str(SAMPLES)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800,
    )
    assert p.returncode == 0, f"callreview batch failed:\n{p.stdout}\n{p.stderr}"
    done.write_text("ok\n")
    return out


@pytest.fixture(scope="session")
def batch_dir(tmp_path_factory) -> Path:
    """A real batch output folder (reports + catalog) of the five sample calls; do not write to it."""
    return build_batch_output(tmp_path_factory.getbasetemp() / "dashboard")


@pytest.fixture
def work_dir(batch_dir: Path, tmp_path: Path) -> Path:
    """A copy of the batch output that a test may write to."""
    dst = tmp_path / "out"
    shutil.copytree(batch_dir, dst)
    return dst


def sql(folder: Path, query: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(folder / "catalog.sqlite")
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def report_json(folder: Path, call_id: str) -> dict:
    rel = sql(folder, "SELECT report_path FROM calls WHERE call_id = ?", (call_id,))[0][0]
    return json.loads((folder / rel).read_text())


def app(folder: Path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["catalog_dir"] = str(folder)
    return at.run()


def review(folder: Path, call_id: str):
    at = app(folder)
    at.query_params["call"] = call_id
    return at.switch_page("views/review.py").run()


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def calls_shown(at) -> list[str]:
    return list(at.dataframe[0].value["Call"])


def _split(html: str, start: str) -> dict[str, str]:
    parts = re.split(f'(?={re.escape(start)})', html)[1:]
    return {re.search(r'data-score="(\w+)"', p).group(1): p for p in parts}


def score_cards(at) -> dict[str, str]:
    """The Call review's score cards (one HTML block), as the HTML of each card by score name."""
    blocks = [h.value for h in at.html if 'class="cr-scores"' in h.value]
    assert len(blocks) == 1, "one block of score cards"
    return _split(blocks[0].split('<div class="cr-panels">')[0], '<div class="cr-score" ')


def score_panels(at) -> dict[str, str]:
    """The *How this score is computed* panel of each score (HTML), by score name."""
    block = [h.value for h in at.html if 'class="cr-scores"' in h.value][0]
    return _split(block.split('<div class="cr-panels">')[1], '<div class="cr-panel" ')


def card_value(card: str) -> str:
    return re.search(r'<div class="val">([^<]*)</div>', card).group(1)


def timeline_html(at) -> str:
    """The Call review's timeline (an HTML block with its data and the script that draws it)."""
    blocks = [h for h in at.html if 'class="cr-timeline"' in h.value]
    assert len(blocks) == 1, "one timeline"
    assert blocks[0].proto.unsafe_allow_javascript, "the timeline's script may run"
    return blocks[0].value


# --------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------


def test_calls_page_lists_every_catalogued_call(batch_dir: Path) -> None:
    at = app(batch_dir)
    no_errors(at)
    assert at.title[0].value == "Calls"
    expected = [r[0] for r in sql(batch_dir, "SELECT call_id FROM calls ORDER BY started_at DESC")]
    assert len(expected) == len(MANIFEST)
    assert calls_shown(at) == expected  # newest first
    df = at.dataframe[0].value
    row = df[df["Call"] == "rude_agent"].iloc[0]
    assert row["Agent"] == "Derek Moss" and row["Team"] == "Billing"
    calm = sql(batch_dir, "SELECT calm_tone FROM calls WHERE call_id='rude_agent'")[0][0]
    assert row["Calm tone"] == pytest.approx(calm)


def test_calls_filters_agent_flags_scores_and_search(batch_dir: Path) -> None:
    at = app(batch_dir)
    at.multiselect(key="keep_calls_agents").set_value(["Sam Carter"]).run()
    assert sorted(calls_shown(at)) == ["calm_agent", "tel_billing_8k"]
    at.multiselect(key="keep_calls_agents").set_value([]).run()
    at.text_input(key="keep_calls_call_id").input("BILLING").run()
    assert calls_shown(at) == ["tel_billing_8k"]
    at.text_input(key="keep_calls_call_id").input("").run()

    at.checkbox(key="keep_calls_flag_interruptions").check().run()
    want = sorted(r[0] for r in sql(batch_dir, "SELECT call_id FROM calls WHERE interruptions > 0"))
    assert want, "the sample calls include agents interrupting customers"
    if want:
        assert sorted(calls_shown(at)) == want
    at.checkbox(key="keep_calls_flag_interruptions").uncheck().run()

    # score ranges: their sliders are made when "Call date and score ranges" is opened
    assert not at.slider, "closed: no sliders"
    at.session_state["keep_calls_more_filters"] = True  # the reviewer opens the expander
    at.run()
    at.slider(key="keep_calls_range_calm_tone").set_value((0, 60)).run()
    want = sorted(r[0] for r in sql(batch_dir, "SELECT call_id FROM calls WHERE calm_tone BETWEEN 0 AND 60"))

    def shown_or_none():
        return sorted(calls_shown(at)) if at.dataframe else [] if any("No call matches" in w.value for w in at.warning) else None

    assert shown_or_none() == want
    at.session_state["keep_calls_more_filters"] = False  # closed again: the range still applies, and says so
    at.run()
    assert not at.slider and shown_or_none() == want
    assert any("Narrowed under" in c.value and "Calm tone" in c.value for c in at.caption)
    at.session_state["keep_calls_more_filters"] = True
    at.run()
    at.slider(key="keep_calls_range_calm_tone").set_value((0, 100)).run()
    assert len(calls_shown(at)) == len(MANIFEST)

    # full-text search: the calls whose transcript says "manager", read from the JSON reports
    said = sorted(
        cid for _, cid, *_ in MANIFEST if any("manager" in t["text"].lower() for t in report_json(batch_dir, cid)["turns"])
    )
    at.text_input(key="keep_calls_search").input("manager").run()
    no_errors(at)
    if said:
        assert sorted(calls_shown(at)) == said
        assert "Matching words" in at.dataframe[0].value.columns
    # FTS syntax in user input never breaks the page
    at.text_input(key="keep_calls_search").input('"unclosed AND OR ( * -').run()
    no_errors(at)


def test_calls_sort_and_open_a_call(batch_dir: Path) -> None:
    at = app(batch_dir)
    at.selectbox(key="keep_calls_sort").select("Lowest calm tone first").run()
    lowest = sql(batch_dir, "SELECT call_id FROM calls WHERE calm_tone IS NOT NULL ORDER BY calm_tone LIMIT 1")[0][0]
    assert calls_shown(at)[0] == lowest
    at.text_input(key="keep_calls_search").input("fee").run()
    at.selectbox(key="calls_open_pick").select("rude_agent").run()
    at.button(key="calls_open").click().run()
    no_errors(at)
    assert at.title[0].value == "Call review · rude_agent"
    assert at.query_params["call"] == "rude_agent"
    # back on Calls, the filters and sort are as the reviewer left them
    at.switch_page("views/calls.py").run()
    assert at.text_input(key="keep_calls_search").value == "fee"
    assert at.selectbox(key="keep_calls_sort").value == "Lowest calm tone first"


def test_empty_folder_says_what_to_do(tmp_path: Path) -> None:
    at = app(tmp_path)
    no_errors(at)
    text = " ".join(i.value for i in at.info)
    assert "callreview batch" in text and "Analyse a call" in text
    at.switch_page("views/team.py").run()
    assert any("callreview batch" in i.value for i in at.info)


# --------------------------------------------------------------------------------------
# Call review
# --------------------------------------------------------------------------------------


def test_review_shows_scores_components_transcript_and_evidence(batch_dir: Path) -> None:
    from dashboard.report_html import esc

    doc = report_json(batch_dir, "rude_agent")
    at = review(batch_dir, "rude_agent")
    no_errors(at)
    scores = {s["name"]: s for s in doc["scores"]}
    cards = score_cards(at)
    from dashboard.style import fmt_score

    for name in ("calm_tone", "active_listening", "empathy", "deescalation"):
        assert card_value(cards[name]) == fmt_score(scores[name]["score"])
    # each score explains itself and lists its parts
    assert sum(c.count(">How this score is computed</label>") for c in cards.values()) == len(scores)
    panels = score_panels(at)
    assert sorted(panels) == sorted(scores)
    part_tables = [t for name in scores for t in re.findall(r'<table class="parts">.*?</table>', panels[name], re.S)]
    assert sorted(t.count("<tr>") - 1 for t in part_tables) == sorted(len(s["components"]) for s in scores.values())
    from dashboard.style import component_label

    for s in scores.values():
        assert all(esc(component_label(c["name"])) in " ".join(part_tables) for c in s["components"])
    # transcript: every turn, with its speaker's role name
    html = " ".join(h.value for h in at.html)
    for turn in doc["turns"]:
        words = turn["text"].split()[:2]
        assert all(w.replace("'", "&#x27;").replace('"', "&quot;") in html for w in words if "<" not in w and "&" not in w)
    assert "<mark" in html, "evidence quotes are highlighted in the transcript"
    # one play button per evidence moment that helped or hurt a score (moments citing the same words are merged)
    def moments(effects):
        return {
            (round(ev["start"], 1), ev["speaker"], ev["quote"])
            for s in doc["scores"] for c in s["components"] for ev in c["evidence"] if ev["effect"] in effects
        }

    play = [b for b in at.button if b.label.startswith("▶")]
    assert len(play) == len(moments(("positive", "negative"))) > 0
    at.selectbox(key="ev_effect").select("All moments (also those only noted)").run()
    assert len([b for b in at.button if b.label.startswith("▶")]) == len(moments(("positive", "negative", "neutral")))
    at.selectbox(key="ev_effect").select("Hurt the score").run()
    assert len([b for b in at.button if b.label.startswith("▶")]) == len(moments(("negative",)))
    assert at.get("audio"), "the call's recording is playable"
    # the timeline: every turn, the evidence moments and both speakers' contours, opening on the whole call
    from dashboard.charts import timeline_view

    tl = timeline_html(at)
    tl_data = json.loads(re.search(r'<script type="application/json" id="[^"]+-data">(.*?)</script>', tl, re.S).group(1))
    assert len(tl_data["turns"]) == len(doc["turns"]) and tl_data["evidence"]
    assert len(tl_data["contours"]) == 2 and all(c["pitch"] and c["loudness"] for c in tl_data["contours"])
    assert tl_data["duration"] == pytest.approx(doc["call"]["duration"], abs=0.01)
    assert timeline_view(tl) == {"window": None, "focus": None}


def test_evidence_moment_plays_from_its_start_and_moves_the_timeline(batch_dir: Path) -> None:
    at = review(batch_dir, "rude_agent")
    play = [b for b in at.button if b.label.startswith("▶")]
    target = play[len(play) // 2]
    target.click().run()
    no_errors(at)
    focus = at.session_state["focus"]
    assert target.label == f"▶ {int(focus['start']) // 60}:{int(focus['start']) % 60:02d}"
    audio = at.get("audio")[0].proto
    assert audio.start_time == int(focus["start"]) and audio.autoplay
    from dashboard.charts import timeline_view

    view = timeline_view(timeline_html(at))
    lo, hi = view["window"]
    assert lo <= focus["start"] <= hi and hi - lo < 40, "the timeline zooms to the moment"
    assert view["focus"] == {"s": focus["start"], "e": focus["end"]}, "and marks it"
    at.button(key="timeline_whole_btn").click().run()
    assert timeline_view(timeline_html(at))["window"] is None, "the whole call"


def test_notes_and_overrides_are_stored_and_shown_beside_the_computed_score(work_dir: Path) -> None:
    at = review(work_dir, "rude_agent")
    computed = sql(work_dir, "SELECT empathy FROM calls WHERE call_id='rude_agent'")[0][0]
    # without a reviewer name nothing is stored
    at.text_area(key="note_text").input("Talked over the customer twice.")
    at.button(key="note_save").click().run()
    assert any("enter your name" in e.value for e in at.error)
    assert sql(work_dir, "SELECT COUNT(*) FROM notes")[0][0] == 0

    at.text_input(key="reviewer").input("Quinn QA").run()
    at.text_area(key="note_text").input("Talked over the customer twice.")
    at.button(key="note_save").click().run()
    no_errors(at)
    rows = sql(work_dir, "SELECT reviewer, text, at FROM notes n JOIN calls c ON c.call_key = n.call_key WHERE c.call_id='rude_agent'")
    assert rows and rows[0][:2] == ("Quinn QA", "Talked over the customer twice.") and rows[0][2]
    assert any("Talked over the customer twice." in m.value for m in at.markdown)

    # an override needs a reason
    at.selectbox(key="ovr_score").select("empathy")
    at.number_input(key="ovr_value").set_value(35)
    at.button(key="ovr_save").click().run()
    assert any("say why" in e.value for e in at.error)
    at.selectbox(key="ovr_score").select("empathy")
    at.number_input(key="ovr_value").set_value(35)
    at.text_area(key="ovr_reason").input("Apologised sincerely at the end; the rubric missed it.")
    at.button(key="ovr_save").click().run()
    no_errors(at)
    o = sql(work_dir, "SELECT score, value, reason, reviewer, at FROM overrides")
    assert o[0][:4] == ("empathy", 35.0, "Apologised sincerely at the end; the rubric missed it.", "Quinn QA") and o[0][4]
    # the computed score is kept and still shown; the override is shown beside it
    assert sql(work_dir, "SELECT empathy FROM calls WHERE call_id='rude_agent'")[0][0] == computed
    from dashboard.style import fmt_score

    empathy = score_cards(at)["empathy"]
    assert card_value(empathy) == fmt_score(computed)
    assert "Reviewer score: 35" in empathy and "Quinn QA" in empathy
    history = [h.value for h in at.html if 'class="override-history"' in h.value]
    assert len(history) == 1 and "Apologised sincerely at the end; the rubric missed it." in history[0]
    # the Calls page marks the call as reviewed
    at.switch_page("views/calls.py").run()
    df = at.dataframe[0].value
    assert df[df["Call"] == "rude_agent"]["Reviewed"].iloc[0] == "1 note(s) 1 override(s)"


def test_review_without_a_call_offers_one(batch_dir: Path) -> None:
    at = app(batch_dir)
    at.switch_page("views/review.py").run()
    no_errors(at)
    assert any("Choose a call" in i.value for i in at.info)
    at.selectbox(key="review_pick").select("calm_agent").run()
    at.button(key="review_pick_open").click().run()
    assert at.title[0].value == "Call review · calm_agent"


def test_unknown_call_is_an_error_with_a_way_out(batch_dir: Path) -> None:
    at = review(batch_dir, "no_such_call")
    assert any("not in the catalog" in e.value for e in at.error)
    assert at.selectbox(key="review_pick") is not None


def test_exports_printable_report_and_json(work_dir: Path) -> None:
    from analysis.records import load_report
    from dashboard import data
    from dashboard.report_html import call_report_html

    at = review(work_dir, "rude_agent")
    labels = [d.label for d in at.download_button]
    assert labels == ["Printable report (HTML)", "Report (JSON)"]
    doc = report_json(work_dir, "rude_agent")
    row = data.call_row(str(work_dir), data.data_token(work_dir), "rude_agent")
    data.add_note(work_dir, row["call_key"], "Quinn QA", "Use the customer's name.", start=12.0)
    data.add_override(work_dir, row["call_key"], "calm_tone", 40, "Sarcastic tone", "Quinn QA")
    report = load_report(json.dumps(doc))
    html = call_report_html(report, row, data.notes(work_dir, row["call_key"]), data.overrides(work_dir, row["call_key"]))
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert html.count("<svg") == 3, "timeline, pitch and loudness charts"
    assert "Use the customer&#x27;s name." in html and "Sarcastic tone" in html and "Reviewer: 40" in html
    from dashboard.report_html import esc
    from dashboard.style import plain_why

    whys = [ev["why"] for s in doc["scores"] for c in s["components"] for ev in c["evidence"]]
    assert whys and all(esc(plain_why(w)) in html for w in whys)
    assert "(pattern:" not in html, "regular expressions stay in the JSON, not in the printable report"


# --------------------------------------------------------------------------------------
# Analyse a call
# --------------------------------------------------------------------------------------


def test_upload_checks() -> None:
    from dashboard.errors import UploadError
    from dashboard.ingest import check_upload, sniff

    wav = (SAMPLES / "tel_billing_8k.wav").read_bytes()
    assert sniff(wav[:16]) == "wav" and sniff((SAMPLES / "calm_agent.flac").read_bytes()[:16]) == "flac"
    assert check_upload("call.wav", len(wav), wav[:16]) == "wav"
    with pytest.raises(UploadError, match="not an audio recording"):
        check_upload("notes.wav", 100, b"hello, this is text")
    with pytest.raises(UploadError, match="over the 1 MB limit"):
        check_upload("big.wav", 2 * 1024 * 1024, wav[:16], max_mb=1)
    with pytest.raises(UploadError, match="not accepted"):
        check_upload("call.exe", len(wav), wav[:16])
    with pytest.raises(UploadError, match="empty"):
        check_upload("call.wav", 0, b"")


def test_analyse_page_refuses_a_non_audio_upload(work_dir: Path) -> None:
    at = app(work_dir)
    at.switch_page("views/analyse.py").run()
    no_errors(at)
    assert any("Choose a recording" in i.value for i in at.info)
    at.file_uploader(key="an_upload").upload("call.wav", b"this is not audio at all" * 10, "audio/wav").run()
    assert any("not an audio recording" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "an_go"]


def test_analyse_page_analyses_indexes_and_lands_on_the_review(work_dir: Path) -> None:
    import soundfile as sf

    # a new recording (not in the catalog): the first 35 s of a sample call
    audio, sr = sf.read(SAMPLES / "tel_billing_8k.wav", always_2d=True)
    buf = io.BytesIO()
    sf.write(buf, audio[: 35 * sr], sr, format="WAV", subtype="PCM_16")
    at = app(work_dir)
    at.switch_page("views/analyse.py").run()
    at.file_uploader(key="an_upload").upload("short billing call.wav", buf.getvalue(), "audio/wav").run()
    at.text_input(key="an_agent").input("Sam Carter")
    at.text_input(key="an_team").input("Billing")
    at.selectbox(key="an_channel").select("left")
    at.button(key="an_go").click().run(timeout=600)
    no_errors(at)
    assert at.title[0].value == "Call review · short_billing_call"
    row = sql(work_dir, "SELECT agent, team, source_path, report_path, duration FROM calls WHERE call_id='short_billing_call'")
    assert row and row[0][:2] == ("Sam Carter", "Billing")
    assert Path(row[0][2]).is_file() and Path(row[0][2]).parent == work_dir / "uploads"
    assert (work_dir / row[0][3]).is_file() and row[0][4] == pytest.approx(35.0, abs=0.1)
    assert report_json(work_dir, "short_billing_call")["call"]["roles"]["method"] == "configured"


def test_analysis_reports_every_stage_in_order(work_dir: Path) -> None:
    from analysis import Analyzer
    from dashboard.ingest import STAGES, AnalysisOptions, analyse_and_index

    opts = AnalysisOptions(agent="Derek Moss", team="Billing")
    seen: list[str] = []
    report = analyse_and_index(work_dir, SAMPLES / "rude_agent.flac", opts, Analyzer(opts.config()), seen.append)
    assert seen[0] == "decode" and seen[-1] == "index"
    order = [s for s in STAGES if s in seen]
    assert seen == order, "stages come in the documented order"
    assert {"transcribe", "scores"} <= set(seen)
    # the same recording again: one catalog row, not two
    assert sql(work_dir, "SELECT COUNT(*) FROM calls WHERE audio_sha256 = ?", (report.call.source_sha256,))[0][0] == 1


# --------------------------------------------------------------------------------------
# Agent coaching and team overview
# --------------------------------------------------------------------------------------


def test_coaching_page(batch_dir: Path) -> None:
    import statistics

    at = app(batch_dir)
    at.query_params["agent"] = "Derek Moss"
    at.switch_page("views/coaching.py").run()
    no_errors(at)
    assert at.selectbox(key="keep_coach_agent").value == "Derek Moss"
    from dashboard.style import fmt_score, score_label

    mine = sql(batch_dir, "SELECT empathy FROM calls WHERE agent='Derek Moss' AND empathy IS NOT NULL")
    metrics = {m.label: m for m in at.metric}
    assert metrics[f"{score_label('empathy')} (median)"].value == fmt_score(statistics.median(r[0] for r in mine))
    team = [r[0] for r in sql(batch_dir, "SELECT empathy FROM calls WHERE team='Billing' AND empathy IS NOT NULL")]
    assert f"team median {statistics.median(team):.0f}" in metrics[f"{score_label('empathy')} (median)"].delta
    # best/worst moments come from the agent's own evidence
    neg = sql(batch_dir, "SELECT COUNT(*) FROM evidence e JOIN calls c USING(call_key) WHERE c.agent='Derek Moss' AND e.effect='negative'")[0][0]
    worst = [b for b in at.button if (b.key or "").startswith("coach_worst_")]
    assert len(worst) == min(5, neg) and neg > 0
    worst[0].click().run()
    no_errors(at)
    audio = at.get("audio")
    assert audio and audio[0].proto.autoplay
    assert at.download_button[0].label.startswith("Coaching sheet")
    at.selectbox(key="keep_coach_agent").select("Sam Carter").run()
    assert "by Sam Carter" in " ".join(c.value for c in at.caption)


def test_coaching_sheet_content(batch_dir: Path) -> None:
    from dashboard import data
    from dashboard.report_html import coaching_sheet_html

    folder, token = str(batch_dir), data.data_token(batch_dir)
    scope = data.score_table(folder, token, ("Billing",))
    calls = scope[scope["agent"] == "Derek Moss"]
    comps = data.component_means(folder, token, "Derek Moss", "Billing")
    best, worst = data.agent_moments(folder, token, "Derek Moss")
    html = coaching_sheet_html("Derek Moss", "Billing", calls, scope, comps, best, worst, coach="Quinn QA")
    assert "Coaching sheet: Derek Moss" in html and "Quinn QA" in html and "Agreed goals" in html
    assert html.count("<tr>") >= 4 + len(worst)
    assert not worst.empty and all((w == "negative") for w in worst["effect"])


def test_team_page(batch_dir: Path) -> None:
    import statistics

    at = app(batch_dir)
    at.switch_page("views/team.py").run()
    no_errors(at)
    from dashboard.style import fmt_score, score_label

    vals = [r[0] for r in sql(batch_dir, "SELECT calm_tone FROM calls WHERE calm_tone IS NOT NULL")]
    assert {m.label: m.value for m in at.metric}[f"{score_label('calm_tone')} (median)"] == fmt_score(statistics.median(vals))
    assert len(at.get("vega_lite_chart")) == 3  # distributions, agents, weekly trend
    table = [d.value for d in at.dataframe if "Agent" in d.value.columns][0]
    assert sorted(table["Agent"]) == sorted({a for _, _, a, _, _ in MANIFEST})
    at.multiselect(key="keep_team_teams").set_value(["Support"]).run()
    table = [d.value for d in at.dataframe if "Agent" in d.value.columns]
    assert not table or list(table[0]["Agent"]) == ["Priya Shah"] or any("None of these calls has scores" in i.value for i in at.info)


def test_fts_query_is_safe() -> None:
    from dashboard.data import fts_query

    assert fts_query("late fee") == '"late" "fee"*'
    assert fts_query('"speak to a manager"') == '"speak to a manager"'
    assert fts_query("refun") == '"refun"*'
    assert fts_query("no") == '"no"'
    # operators and stray quotes become plain quoted words
    assert fts_query('( AND " OR * NEAR') == '"AND" "OR" "NEAR"*'
    assert fts_query("   ") is None and fts_query("?!") is None


# --------------------------------------------------------------------------------------
# callreview dashboard
# --------------------------------------------------------------------------------------


def test_dashboard_command_serves_locally_headless_without_usage_stats(tmp_path: Path) -> None:
    from dashboard.launch import streamlit_command

    cmd = streamlit_command(tmp_path)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"] and cmd[4].endswith("dashboard/app.py")
    opts = dict(zip(cmd[5:-2:2], cmd[6:-2:2]))
    assert opts["--server.address"] == "127.0.0.1" and opts["--server.headless"] == "true"
    assert opts["--browser.gatherUsageStats"] == "false"
    assert cmd[-2:] == ["--", str(tmp_path)]
    p = subprocess.run([sys.executable, "-m", "analysis.cli", "dashboard", str(tmp_path / "missing")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 1 and "no such folder" in p.stderr and "callreview batch" in p.stderr
