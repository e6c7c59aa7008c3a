"""Notes between the steps (briefing/notes.py): facts chosen by sentence id."""

from __future__ import annotations

from briefing.models import ChunkNotes, Fact
from briefing.notes import facts_of, globalise

SENTENCES = {
    1: "Finland detained the tanker Sea Merlin on Wednesday.",
    2: "The Kalev Link cable went dead at 02:47 on Tuesday.",
    3: "Repairs will take seven weeks.",
}


def test_the_model_picks_facts_by_id_and_brief_writes_the_sentence() -> None:
    # issue 18: cite sentence ids instead of copying text. The answer is a few ids;
    # the facts are the article's own sentences, in the order the model ranked them.
    notes = ChunkNotes.model_validate(
        {"key_sentences": ["2", "[3]", "9", "2"], "framing": "Sober."}
    )
    notes = globalise(notes, 4, set(SENTENCES))
    assert notes.key_sentences == ["4.2", "4.3"]  # unknown and repeated ids are dropped
    out = facts_of(notes, lambda cite: SENTENCES.get(int(cite.split(".")[1])))
    assert [(f.text, f.cites) for f in out.facts] == [
        (SENTENCES[2], ["4.2"]),
        (SENTENCES[3], ["4.3"]),
    ]


def test_facts_a_server_wrote_out_stay_after_the_chosen_ones() -> None:
    notes = ChunkNotes(
        key_sentences=["1.1"],
        facts=[Fact(text="Same sentence.", cites=["1.1"]), Fact(text="Other.", cites=["1.3"])],
        framing="",
    )
    out = facts_of(notes, lambda cite: SENTENCES[1] if cite == "1.1" else None)
    assert [f.text for f in out.facts] == [SENTENCES[1], "Other."]


def test_the_fact_schema_is_ids_only() -> None:
    schema = ChunkNotes.model_json_schema()
    assert "facts" not in schema["properties"]
    assert schema["properties"]["key_sentences"]["maxItems"] == 5
