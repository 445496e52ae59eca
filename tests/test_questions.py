"""mugkit.questions: problems() for each question type and for a survey, and accepts()."""

from __future__ import annotations

import pytest

import mugkit as mk
from mugkit.questions import problems


def test_well_formed_questions_have_no_problems():
    qs = [mk.Likert("fun", "The game was fun.", points=7),
          mk.Likert("agree", "Agree?", points=3, labels=["no", "maybe", "yes"]),
          mk.Choice("partner", "Your partner was…", ["a human", "a computer", "not sure"]),
          mk.Choice("tools", "Which?", ["a", "b"], multiple=True),
          mk.Text("comments", "Anything else?", required=False, multiline=True, max_length=10)]
    assert [q.problems() for q in qs] == [[]] * 5
    assert problems(qs) == []


@pytest.mark.parametrize("question, expected", [
    (mk.Likert("my q", "Text"), ["question name 'my q' must be an identifier (letters, digits, _)"]),
    (mk.Likert("q", "   "), ["question 'q' has no text"]),
    (mk.Likert("q", "T", points=1), ["Likert 'q': points must be an int from 2 to 11, got 1"]),
    (mk.Likert("q", "T", points=12), ["Likert 'q': points must be an int from 2 to 11, got 12"]),
    (mk.Likert("q", "T", points=True), ["Likert 'q': points must be an int from 2 to 11, got True"]),
    (mk.Likert("q", "T", points=5, labels=["a", "b"]), ["Likert 'q': 2 labels for 5 points"]),
    (mk.Choice("q", "T", ["only"]), ["Choice 'q': needs at least two options, got ['only']"]),
    (mk.Choice("q", "T", ["a", "a", "b"]), ["Choice 'q': options repeat: ['a', 'a', 'b']"]),
    (mk.Choice("q", "T", ["a", ""]), ["Choice 'q': options must be non-empty strings, got ['a', '']"]),
    (mk.Choice("q", "T", ["a", 2]), ["Choice 'q': options must be non-empty strings, got ['a', 2]"]),
    (mk.Text("q", "T", max_length=0), ["Text 'q': max_length must be a positive int"]),
    (mk.Text("q", "T", max_length=2.5), ["Text 'q': max_length must be a positive int"]),
    (mk.Text(3, ""), ["question name 3 must be an identifier (letters, digits, _)", "question 3 has no text"]),
], ids=repr)
def test_question_problems(question, expected):
    assert question.problems() == expected


def test_unhashable_choice_option_is_a_problem_not_a_crash():
    assert problems([mk.Choice("q", "T", ["a", ["b"]])]) == ["Choice 'q': options must be non-empty strings, got ['a', ['b']]"]


def test_survey_problems():
    assert problems([]) == ["a survey must return a non-empty list of questions (mk.Likert, mk.Choice, mk.Text, ...), got []"]
    assert problems(None)[0].endswith("got None")
    assert problems(mk.Text("q", "T"))[0].startswith("a survey must return a non-empty list")
    assert problems([mk.Text("q", "T"), "How old are you?", mk.Likert("q", "Again")]) == [
        "item 1 is not a question (mk.Likert, mk.Choice, mk.Text, ...): 'How old are you?'",
        "two questions are named 'q': answers are stored by name",
    ]
    assert problems([mk.Likert("a", "A", points=0)]) == ["Likert 'a': points must be an int from 2 to 11, got 0"]


def test_likert_accepts():
    q = mk.Likert("fun", "Fun?", points=5)
    assert [v for v in range(-1, 8) if q.accepts(v)] == [1, 2, 3, 4, 5]
    assert not q.accepts(True) and not q.accepts(3.0) and not q.accepts("3") and not q.accepts(None)
    assert mk.Likert("fun", "Fun?", required=False).accepts(None)


def test_choice_accepts():
    q = mk.Choice("p", "Partner?", ["human", "computer"])
    assert q.accepts("human") and q.accepts("computer")
    assert not q.accepts("Human") and not q.accepts(None) and not q.accepts(["human"])
    assert mk.Choice("p", "Partner?", ["human", "computer"], required=False).accepts(None)


def test_multiple_choice_accepts():
    q = mk.Choice("t", "Which?", ["a", "b", "c"], multiple=True)
    assert q.accepts(["a"]) and q.accepts(["a", "c"])
    assert not q.accepts([]) and not q.accepts(["d"]) and not q.accepts("a") and not q.accepts(("a",))
    optional = mk.Choice("t", "Which?", ["a", "b"], multiple=True, required=False)
    assert optional.accepts([]) and optional.accepts(None)


def test_text_accepts():
    q = mk.Text("c", "Comments?", max_length=5)
    assert q.accepts("hello") and not q.accepts("hello!") and not q.accepts("   ") and not q.accepts("")
    assert not q.accepts(None) and not q.accepts(5)
    optional = mk.Text("c", "Comments?", required=False)
    assert optional.accepts("") and optional.accepts(None) and optional.accepts("  ")
