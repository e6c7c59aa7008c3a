"""What brief adds to the model's story: completion from the notes, a divergence that
names the outlets."""

from __future__ import annotations

from briefing import drafts
from briefing.evidence import Evidence
from briefing.models import ActorNote, ChunkNotes, Framing, RiskNote, StoryDraft

OUTLETS = {1: "Kyiv Post", 2: "RT"}


def draft(**fields: object) -> StoryDraft:
    base: dict[str, object] = {
        "headline": "Stoltenberg dismisses Putin's warnings",
        "top_line": "NATO's chief says Kyiv may strike inside Russia.",
        "summary": "Stoltenberg dismissed Putin's escalation warnings.",
        "divergence": "",
    }
    return StoryDraft.model_validate(base | fields)


FRAMINGS = [
    Framing(source=1, framing="Calls the warnings empty threats.", wording="nothing new"),
    Framing(source=2, framing="Stresses the danger of a wider war.", wording="proxy war"),
]


def test_divergence_naming_both_outlets_is_kept() -> None:
    text = "The Kyiv Post dismisses the threats while RT dwells on the risk of escalation."
    out = drafts.settle(draft(divergence=text, framings=FRAMINGS), OUTLETS)
    assert out.divergence == text


def test_divergence_naming_outlets_by_number_is_kept_with_their_names() -> None:
    text = "Source 1 plays the threats down; source 2 plays them up."
    named = "Kyiv Post plays the threats down; RT plays them up."
    assert drafts.settle(draft(divergence=text), OUTLETS).divergence == named
    # Two outlets of one name stay told apart by their numbers.
    assert drafts.settle(draft(divergence=text), {1: "RT", 2: "RT"}).divergence == text


def test_rebuilt_divergence_fits_the_field_and_tells_same_named_outlets_apart() -> None:
    long = [f.model_copy(update={"framing": "Frames it at length " * 12}) for f in FRAMINGS]
    out = drafts.settle(draft(framings=long), {1: "RT", 2: "RT"})
    assert len(out.divergence) <= 400
    assert (
        out.divergence.startswith("RT (source 1): Frames it") and "RT (source 2):" in out.divergence
    )
    assert "nothing new" not in out.divergence  # wordings go first when space is short


def test_divergence_naming_one_outlet_is_rebuilt_from_the_framings() -> None:
    out = drafts.settle(draft(divergence="RT is alarmist.", framings=FRAMINGS), OUTLETS)
    assert out.divergence == (
        'Kyiv Post: Calls the warnings empty threats ("nothing new"); '
        'RT: Stresses the danger of a wider war ("proxy war").'
    )


def test_divergence_echoing_its_instructions_is_rebuilt() -> None:
    echo = "How the outlets' framing differs, naming them: Kyiv Post and RT."
    out = drafts.settle(draft(divergence=echo, framings=FRAMINGS), OUTLETS)
    assert out.divergence.startswith("Kyiv Post: Calls the warnings")


def test_unverified_wording_is_not_quoted_in_a_rebuilt_divergence() -> None:
    framings = [FRAMINGS[0].model_copy(update={"unverified": "wording not found"}), FRAMINGS[1]]
    out = drafts.settle(draft(framings=framings), OUTLETS)
    assert "nothing new" not in out.divergence and '("proxy war")' in out.divergence


def test_no_divergence_without_two_framed_outlets() -> None:
    assert (
        drafts.settle(draft(divergence="Alike.", framings=FRAMINGS[:1]), OUTLETS).divergence == ""
    )
    one = drafts.settle(draft(divergence="Kyiv Post vs RT", framings=FRAMINGS), {1: "Kyiv Post"})
    assert one.divergence == ""


def test_settle_does_not_modify_the_draft() -> None:
    given = draft(divergence="RT only", framings=FRAMINGS)
    drafts.settle(given, OUTLETS)
    assert given.divergence == "RT only"


def notes(**fields: object) -> ChunkNotes:
    return ChunkNotes.model_validate({"framing": ""} | fields)


def test_complete_fills_framings_risks_and_shared_actors_from_the_notes() -> None:
    putin = ActorNote(
        name="Vladimir Putin", role="President", position="Warns NATO.", cites=["1.2"]
    )
    risk = RiskNote(
        risk="Nuclear escalation", exposed="Europe", likelihood="low", impact="high", cites=["2.3"]
    )
    noted = {
        1: [notes(actors=[putin], framing="Dismissive of the threats.")],
        2: [notes(actors=[putin], risks=[risk], framing="Alarmed by the escalation.")],
    }
    out = drafts.complete(draft(framings=[FRAMINGS[1]]), noted, Evidence({}))
    assert [(f.source, f.framing) for f in out.framings] == [
        (1, "Dismissive of the threats."),
        (2, FRAMINGS[1].framing),
    ]
    assert [a.name for a in out.actors] == ["Vladimir Putin"]
    assert [r.risk for r in out.risks] == ["Nuclear escalation"]
    assert drafts.severity(out.risks[0]) == 3


def test_complete_adds_speakers_fixes_weak_positions_and_drops_writers() -> None:
    sentences = {
        1: {
            1: "Anna Berg, the union's chair, warned of further strikes at the port.",
            2: "Mayor Tom Reed said the city would mediate.",
        }
    }
    actors = [
        {"name": "Anna Berg", "role": "", "position": "Speaking", "cites": []},
        {"name": "Dave Smith", "role": "Author", "position": "Writes the story.", "cites": []},
        {"name": "Author Dave DeCamp", "role": "Writing", "position": "Author", "cites": []},
    ]
    out = drafts.complete(draft(actors=actors), {1: [notes()]}, Evidence(sentences))
    assert [(a.name, a.role, a.position, a.cites) for a in out.actors] == [
        ("Anna Berg", "the union's chair", "Warned of further strikes at the port.", ["1.1"]),
        ("Tom Reed", "Mayor", "Said the city would mediate.", ["1.2"]),
    ]


def test_complete_removes_letters_of_scripts_no_source_uses() -> None:
    sentences = {1: {1: "Vladimir Putin warned NATO about Ukraine (Украина)."}}
    given = draft(summary="Putin warned NATO 的 about Ukraine, Украина.", divergence="")
    out = drafts.complete(given, {1: [notes()]}, Evidence(sentences))
    assert out.summary == "Putin warned NATO about Ukraine, Украина."


def test_settle_gives_a_framing_without_wording_the_article_s_own_phrase() -> None:
    texts = {
        1: "Stoltenberg dismissed recent warnings by Putin.",
        2: "Stoltenberg shrugged off warnings by Putin.",
    }
    framings = [f.model_copy(update={"wording": ""}) for f in FRAMINGS]
    out = drafts.settle(draft(framings=framings), OUTLETS, Evidence(texts=texts))
    assert [f.wording for f in out.framings] == [
        "dismissed recent warnings",
        "shrugged off warnings",
    ]
    assert '("shrugged off warnings")' in out.divergence


def test_a_reporter_the_sources_show_acting_stays_an_actor() -> None:
    sentences = {1: {1: "Evan Gershkovich, a reporter for the Journal, denied the charges."}}
    actors = [{"name": "Evan Gershkovich", "role": "reporter", "position": "x", "cites": []}]
    out = drafts.complete(draft(actors=actors), {1: [notes()]}, Evidence(sentences))
    assert [(a.name, a.position) for a in out.actors] == [
        ("Evan Gershkovich", "Denied the charges.")
    ]


def test_complete_merges_repeated_actors_and_falls_back_to_a_sentence_naming_them() -> None:
    sentences = {1: {1: "Finland seized a civilian tanker in the Gulf of Finland."}}
    listed = "Government of Finland, Interior Minister Aino Virtanen, Prime Minister Kristjan Mägi"
    actors = [
        {"name": "Finland", "role": "Government", "position": listed, "cites": []},
        {"name": "Finland", "role": "Government", "position": "Again.", "cites": []},
    ]
    out = drafts.complete(draft(actors=actors), {1: [notes()]}, Evidence(sentences))
    assert [(a.name, a.position, a.cites) for a in out.actors] == [
        ("Finland", "Finland seized a civilian tanker in the Gulf of Finland.", ["1.1"])
    ]


def test_one_actor_under_two_names_is_listed_once_with_both_cites() -> None:
    # issue 18: "Bank of England" listed twice, once with its governor's name
    sentences = {1: {1: "The Bank of England cut rates.", 2: "Governor Catherine Rowe spoke."}}
    actors = [
        {
            "name": "Bank of England",
            "role": "central bank",
            "position": "Cut rates to 3.25 per cent on a 5-4 vote of its committee.",
            "cites": ["1.1"],
        },
        {
            "name": "Bank of England (Governor Catherine Rowe)",
            "role": "",
            "position": "Says rates will come down only gradually.",
            "cites": ["1.2"],
        },
        {
            "name": "Imogen Shah",
            "role": "member",
            "position": "Voted to hold rates where they were at 3.5 per cent.",
            "cites": [],
        },
    ]
    out = drafts.complete(draft(actors=actors), {1: [notes()]}, Evidence(sentences))
    assert [(a.name, a.cites) for a in out.actors][:2] == [
        ("Bank of England", ["1.1", "1.2"]),
        ("Imogen Shah", []),
    ]


def test_a_divergence_that_lists_the_outlets_after_its_instructions_is_rebuilt() -> None:
    echo = "The outlets' framing differs, naming them: Kyiv Post, RT."
    out = drafts.settle(draft(divergence=echo, framings=FRAMINGS), OUTLETS)
    assert out.divergence.startswith("Kyiv Post: Calls the warnings")


def test_a_position_or_role_naming_what_no_source_names_is_replaced() -> None:
    sentences = {
        1: {
            1: "Mayor tells irrigators to share the pain",
            2: "Mayor Deb Lawson declared Stage 3 water restrictions in Port Ellery.",
        }
    }
    made_up = "Mayor of Port Ellery, California, USA, who leads the city council."
    actors = [{"name": "Deb Lawson", "role": "Governor of Nevada", "position": made_up}]
    out = drafts.complete(draft(actors=actors), {1: [notes()]}, Evidence(sentences))
    [lawson] = out.actors
    assert lawson.position == "Declared Stage 3 water restrictions in Port Ellery."
    assert lawson.role == "Mayor" and lawson.cites == ["1.2"]


def test_a_risk_text_loses_the_other_fields_the_model_wrote_into_it() -> None:
    risk = {"risk": "Nuclear war; exposed: Russia; likelihood high, impact high",
            "exposed": "Russia", "likelihood": "high", "impact": "high", "cites": []}  # fmt: skip
    out = drafts.complete(draft(risks=[risk]), {1: [notes()]}, Evidence({}))
    assert out.risks[0].risk == "Nuclear war"


def test_one_framing_for_two_outlets_becomes_each_outlet_s_own_words() -> None:
    texts = {
        1: "Stoltenberg dismissed recent warnings by Putin. Allies called them empty threats.",
        2: "Stoltenberg shrugged off warnings by Putin in the proxy war against Russia.",
    }
    same = "Stoltenberg dismisses Putin's warnings, raising the risk of escalation."
    framings = [Framing(source=n, framing=same) for n in (1, 2)]
    out = drafts.settle(draft(framings=framings), OUTLETS, Evidence(texts=texts))
    first, second = out.framings
    assert first.framing != second.framing
    # Each names phrases of its own article that the other does not use, other than
    # its wording.
    for framing, other in ((first, second), (second, first)):
        assert framing.framing.startswith("In its own words: “")
        phrases = [part.split("”")[0] for part in framing.framing.split("“")[1:]]
        assert phrases and framing.wording not in phrases
        for phrase in phrases:
            assert phrase in texts[framing.source] and phrase not in texts[other.source]
    # Different framings are left as the model wrote them.
    kept = drafts.settle(draft(framings=FRAMINGS), OUTLETS, Evidence(texts=texts))
    assert [f.framing for f in kept.framings] == [f.framing for f in FRAMINGS]


def test_a_summary_adds_to_its_top_line() -> None:
    # issue 18: "a summary that repeats the top line word for word"
    top = "Finland detained a tanker after the Estlink power cable to Estonia was cut."
    summary = (
        "Finland detained a tanker after the Estlink power cable to Estonia was cut. "
        "Investigators found a 90-kilometre drag mark on the seabed. Russia denies a role."
    )
    assert drafts.summary_past(top, summary) == (
        "Investigators found a 90-kilometre drag mark on the seabed. Russia denies a role."
    )
    # said again in other words, but mostly the same words: still a repeat
    again = "A tanker was detained by Finland after the Estlink cable to Estonia was cut."
    assert drafts.summary_past(top, again + " Repairs take weeks.") == "Repairs take weeks."
    other = "Estonia's prices jumped 38 per cent as the cable went dead."
    assert drafts.summary_past(top, other) == other
    assert drafts.summary_past("", summary) == summary


def test_a_framing_that_only_says_the_article_reports_becomes_the_outlet_s_own_words() -> None:
    # issue 18: "The article discusses the impact..." names no slant
    texts = {
        1: "Stoltenberg dismissed recent warnings by Putin.",
        2: "Stoltenberg shrugged off warnings by Putin.",
    }
    meta = Framing(source=2, framing="The article discusses the impact of the warnings.")
    framings = [FRAMINGS[0], meta]
    out = drafts.settle(draft(framings=framings), OUTLETS, Evidence(texts=texts))
    assert out.framings[0].framing == FRAMINGS[0].framing
    assert out.framings[1].framing.startswith("In its own words: “shrugged off warnings”")
    alone = drafts.settle(draft(framings=[meta]), {2: "RT"}, Evidence(texts=texts))
    assert alone.framings[0].framing.startswith("In its own words:") and alone.divergence == ""


def test_a_divergence_that_says_the_same_of_each_outlet_is_rebuilt() -> None:
    # What the embedded model wrote for the seeds once: both outlets, one framing.
    same = (
        "The outlets' framing differs, naming them; source 1 frames the events as a "
        "significant escalation in the proxy war and could provoke a major response from "
        "Russia, while source 2 frames the events as a significant escalation in the proxy "
        "war and could provoke a major response from Russia."
    )
    out = drafts.settle(draft(divergence=same, framings=FRAMINGS), OUTLETS)
    assert out.divergence.startswith("Kyiv Post: Calls the warnings")
    assert "RT" in out.divergence
    differ = "Kyiv Post calls the warnings a bluff; RT calls them a sober red line."
    assert drafts.settle(draft(divergence=differ, framings=FRAMINGS), OUTLETS).divergence == (
        differ
    )


def test_a_story_written_from_its_articles_gets_their_sentences_quotes_and_framings() -> None:
    sentences = {
        1: {
            1: "Storms closed the port of Riga on Monday, stranding forty ships.",
            2: '"We will reopen when it is safe for every crew," harbour master Ilze Berzina said.',
            3: "The closure is a disaster for exporters already hit by sanctions and a weak lat.",
        },
        2: {
            1: "The port of Riga closed on Monday after storms, stranding forty ships.",
            2: "Grain traders fear a backlog that could last well into next month.",
        },
    }
    texts = {n: " ".join(s.values()) for n, s in sentences.items()}
    evidence = Evidence(sentences, texts, {1: "2026-11-24", 2: "2026-11-24"})  # Tuesdays
    written = draft(
        summary="",
        top_line="Riga's port is shut by storms.",
        actors=[{"name": "Ilze Berzina", "role": "harbour master", "position": "Says the port "
                 "will reopen when it is safe.", "cites": ["1.2"]}],
        framings=[{"source": 1, "framing": "Stresses the cost to exporters.", "cites": ["1.3"]}],
    )  # fmt: skip
    out = drafts.settle(
        drafts.complete(written, {}, evidence), {1: "Baltic Wire", 2: "Port News"}, evidence
    )
    # The summary is the sources' own sentences, not the top line again.
    assert out.summary and all(
        any(sentence in out.summary for sentence in s.values()) for s in [sentences[1]]
    )
    assert "Riga's port is shut" not in out.summary
    # What the summary says is not said again as agreement.
    assert not [p for p in out.agreement if p.text in out.summary]
    # Both outlets say the port closed: with a summary of the model's, that is a point
    # of agreement, cited in each.
    other = drafts.complete(written.model_copy(update={"summary": "Ships wait."}), {}, evidence)
    assert len(other.agreement) == 1
    assert {c.split(".")[0] for c in other.agreement[0].cites} == {"1", "2"}
    # The harbour master's quote comes from the source, cited.
    assert out.actors[0].quote == "We will reopen when it is safe for every crew"
    # The outlet the model gave no framing gets one in its own words.
    assert [f.source for f in out.framings] == [1, 2]
    assert out.framings[1].framing.startswith("In its own words:")
    # The day the sources name ("on Monday"), told in their best ranked sentence.
    assert [(e.date, e.cites) for e in out.timeline] == [("2026-11-23", ["1.1"])]


def test_each_risk_gets_the_sentence_that_warns_of_it_and_a_risk_said_twice_goes() -> None:
    sentences = {
        1: {
            1: "Grid operators warn that another failure this winter could leave Tallinn dark.",
            2: "Prices could stay high while the cable is out, traders said on Friday.",
            3: "That could be a while.",
        }
    }
    evidence = Evidence(sentences, {1: " ".join(sentences[1].values())})
    risks = [
        {"risk": "Another failure could leave Tallinn dark", "exposed": "Tallinn",
         "likelihood": "medium", "impact": "high", "cites": ["1.1"]},
        {"risk": "Tallinn could go dark after another failure", "exposed": "Tallinn winter",
         "likelihood": "high", "impact": "high", "cites": []},
        {"risk": "Electricity prices stay high", "exposed": "traders",
         "likelihood": "high", "impact": "medium", "cites": ["1.2"]},
        {"risk": "Loss of cargo", "exposed": "shippers",
         "likelihood": "low", "impact": "low", "cites": ["1.3"]},
    ]  # fmt: skip
    out = drafts.complete(draft(risks=risks), {}, evidence)
    assert [(r.risk, r.reason) for r in out.risks] == [
        ("Another failure could leave Tallinn dark", sentences[1][1]),
        ("Electricity prices stay high", sentences[1][2]),
        ("Loss of cargo", ""),  # no sentence of eight words or more warns of it
    ]


def test_a_role_listed_as_a_name_is_its_holder() -> None:
    sentences = {1: {1: "Estonian Prime Minister Kristjan Magi said the cable was cut on purpose."}}
    evidence = Evidence(sentences, {1: sentences[1][1]})
    actors = [
        {"name": "Kristjan Magi", "role": "Estonian Prime Minister",
         "position": "Says the cable was cut on purpose.", "cites": ["1.1"]},
        {"name": "Estonian prime minister", "role": "Head of government",
         "position": "Points at Russia over the cable.", "cites": ["1.1"]},
    ]  # fmt: skip
    out = drafts.complete(draft(actors=actors), {}, evidence)
    assert [a.name for a in out.actors] == ["Kristjan Magi"]


def test_a_risk_that_tells_the_top_line_again_is_no_risk() -> None:
    evidence = Evidence({1: {1: "Finland detained the tanker Sea Merlin in the Gulf of Finland."}})
    top = "Finland detains the tanker Sea Merlin in the Gulf of Finland."
    risks = [
        {"risk": "The tanker Sea Merlin is detained in the Gulf of Finland by Finland.",
         "exposed": "Sea Merlin", "likelihood": "high", "impact": "high", "cites": ["1.1"]},
        {"risk": "Another cable could be cut this winter.", "exposed": "Estonia",
         "likelihood": "medium", "impact": "high", "cites": ["1.1"]},
    ]  # fmt: skip
    out = drafts.complete(draft(top_line=top, risks=risks), {}, evidence)
    assert [r.risk for r in out.risks] == ["Another cable could be cut this winter."]
