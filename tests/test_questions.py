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


# -- the types added for issue 16: Dropdown, Number, Slider, Matrix; visible_if ------------------

@pytest.mark.parametrize("question, expected", [
    (mk.Likert("q", "T", points=5, labels="abcde"), ["Likert 'q': labels must be a list of strings, one per point, got 'abcde'"]),
    (mk.Likert("q", "T", points=3, labels=["a", 2, "c"]), ["Likert 'q': labels must be a list of strings, one per point, got ['a', 2, 'c']"]),
    (mk.Dropdown("q", "T", ["x"]), ["Dropdown 'q': needs at least two options, got ['x']"]),
    (mk.Dropdown("q", "T", ["x", "x"]), ["Dropdown 'q': options repeat: ['x', 'x']"]),
    (mk.Number("q", "T", min=10, max=5), ["Number 'q': min 10 must be below max 5"]),
    (mk.Number("q", "T", min="0"), ["Number 'q': min must be a number or None, got '0'"]),
    (mk.Number("q", "T", max=float("inf")), ["Number 'q': max must be a number or None, got inf"]),
    (mk.Number("q", "T", integer="yes"), ["Number 'q': integer must be True or False, got 'yes'"]),
    (mk.Slider("q", "T", min=None), ["Slider 'q': min must be a number, got None"]),
    (mk.Slider("q", "T", min=5, max=5), ["Slider 'q': min 5 must be below max 5"]),
    (mk.Slider("q", "T", step=0), ["Slider 'q': step must be a positive number, got 0"]),
    (mk.Slider("q", "T", step=7), ["Slider 'q': step 7 does not divide the range 0 to 100"]),
    (mk.Slider("q", "T", labels={150: "too far"}),
     ["Slider 'q': labels must be {value: text} with values from 0 to 100, got {150: 'too far'}"]),
    (mk.Matrix("q", "T", {}), ["Matrix 'q': items must be a non-empty dict of item name -> statement, got {}"]),
    (mk.Matrix("q", "T", ["a", "b"]), ["Matrix 'q': items must be a non-empty dict of item name -> statement, got ['a', 'b']"]),
    (mk.Matrix("q", "T", {"my item": "S", "b": " "}),
     ["Matrix 'q': item name 'my item' must be an identifier (letters, digits, _)", "Matrix 'q': item 'b' has no statement"]),
    (mk.Matrix("q", "T", {"a": "S"}, points=12), ["Matrix 'q': points must be an int from 2 to 11, got 12"]),
    (mk.Matrix("q", "T", {"a": "S"}, points=3, labels=["x"]), ["Matrix 'q': 1 labels for 3 points"]),
    (mk.Text("q", "T", required="no"), ["question 'q': required must be True or False, got 'no'"]),
], ids=repr)
def test_new_question_problems(question, expected):
    assert question.problems() == expected


def test_new_types_are_well_formed_with_their_defaults_and_options():
    qs = [mk.Dropdown("country", "Where?", ["France", "Germany"]),
          mk.Number("age", "Age?", min=18, max=99, integer=True), mk.Number("weight", "Weight?"),
          mk.Slider("sure", "Sure?"), mk.Slider("t", "T?", min=-1, max=1, step=0.25, labels={-1: "no", 1: "yes"}),
          mk.Matrix("trust", "Agree?", {"honest": "Honest.", "quick": "Quick."}, points=5, labels=["a", "", "", "", "e"])]
    assert problems(qs) == []


def test_number_accepts():
    q = mk.Number("age", "Age?", min=18, max=99, integer=True)
    assert q.accepts(18) and q.accepts(99) and not q.accepts(17) and not q.accepts(100)
    assert not q.accepts(30.5) and not q.accepts(30.0) and not q.accepts("30") and not q.accepts(True)
    assert q.why_not(17) == "enter a whole number from 18 to 99"
    free = mk.Number("x", "X?")
    assert free.accepts(-3.5) and free.accepts(10 ** 9) and not free.accepts(2 ** 60)
    assert not free.accepts(float("nan")) and not free.accepts(float("inf"))
    assert mk.Number("x", "X?", min=0).why_not(-1) == "enter a number of at least 0"
    assert mk.Number("x", "X?", max=1.5).why_not(2) == "enter a number of at most 1.5"


def test_slider_accepts_values_on_its_steps_only():
    q = mk.Slider("s", "S?", min=0, max=10, step=2.5)
    assert [v for v in (0, 2.5, 5, 7.5, 10) if q.accepts(v)] == [0, 2.5, 5, 7.5, 10]
    assert not q.accepts(1) and not q.accepts(12.5) and not q.accepts(-2.5) and not q.accepts("5") and not q.accepts(None)
    assert mk.Slider("s", "S?", min=0, max=1, step=0.1).accepts(0.7)  # 0.7 / 0.1 is 6.999…: still on a step


def test_dropdown_accepts_one_option():
    q = mk.Dropdown("c", "Where?", ["France", "Germany"])
    assert q.accepts("France") and not q.accepts("france") and not q.accepts(["France"]) and not q.multiple


def test_matrix_accepts_and_is_stored_one_row_per_item():
    q = mk.Matrix("trust", "Agree?", {"honest": "Honest.", "quick": "Quick."}, points=5)
    assert q.accepts({"honest": 1, "quick": 5})
    assert q.why_not({"honest": 1}) == "rate every statement"
    assert q.why_not({"honest": 1, "quick": 6}) == "rate each statement from 1 to 5"
    assert q.why_not({"honest": 1, "quick": 2, "other": 3}) == "rate the statements shown"
    assert q.why_not([1, 2]) == "rate the statements shown"
    assert q.rows({"honest": 2, "quick": 4}) == {"trust.honest": 2, "trust.quick": 4}
    optional = mk.Matrix("trust", "Agree?", {"honest": "Honest.", "quick": "Quick."}, required=False)
    assert optional.accepts({"honest": 3}) and optional.accepts({}) and optional.accepts(None)
    assert optional.rows({"honest": 3}) == {"trust.honest": 3, "trust.quick": None}
    assert optional.rows(None) == {"trust.honest": None, "trust.quick": None}


PARTNER = [mk.Choice("kind", "Your partner was…", ["a human", "a computer", "not sure"]),
           mk.Text("why", "Why a computer?", visible_if=("kind", "==", "a computer")),
           mk.Likert("sure", "How sure?", points=5, visible_if=[("kind", "!=", "not sure")]),
           mk.Text("very", "Why so sure?", required=False, visible_if=("sure", ">=", 4))]


@pytest.mark.parametrize("answers, error, rows", [
    ({"kind": "a computer", "why": "fast", "sure": 5, "very": "it was"}, None,
     {"kind": "a computer", "why": "fast", "sure": 5, "very": "it was"}),
    ({"kind": "a human", "sure": 2}, None, {"kind": "a human", "sure": 2}),
    ({"kind": "not sure"}, None, {"kind": "not sure"}),
    ({"kind": "not sure", "why": None, "sure": None}, None, {"kind": "not sure"}),
    ({"kind": "a human", "sure": 4}, None, {"kind": "a human", "sure": 4, "very": None}),
    ({"kind": "not sure", "why": "sneaky"}, "not shown after your earlier answers, so it takes no answer: Why a computer?", None),
    ({"kind": "a human", "sure": 2, "very": "x"}, "not shown after your earlier answers, so it takes no answer: Why so sure?", None),
    ({"kind": "a computer", "sure": 3}, "please answer: Why a computer?", None),
    ({"kind": "a human"}, "please answer: How sure?", None),
    ({"kind": "a robot"}, "not a valid answer to: Your partner was… (choose one of the options)", None),
    ({"kind": "a human", "sure": 2, "x": 1}, "unknown question(s): x", None),
    ([], "answers must be an object: question name -> answer", None),
], ids=repr)
def test_conditions_decide_which_questions_take_an_answer(answers, error, rows):
    from mugkit.questions import answer_rows, check_answers

    assert check_answers(PARTNER, answers) == error
    if error is None:
        assert answer_rows(PARTNER, answers) == rows


def test_a_condition_on_a_hidden_question_does_not_hold_whatever_its_operator():
    from mugkit.conditions import holds

    assert not holds(("a", "!=", "x"), {}) and not holds(("a", "not in", ["x"]), {"a": None})
    assert not holds(("a", "<", 3), {"a": "2"}) and holds(("a", "<", 3), {"a": 2})
    assert holds(("a", "contains", "x"), {"a": ["x", "y"]}) and not holds(("a", "contains", "z"), {"a": ["x"]})
    assert holds(("a", "in", ("x", "y")), {"a": "y"}) and not holds(("a", "not in", ("x", "y")), {"a": "y"})


@pytest.mark.parametrize("visible_if, expected", [
    (("kind", "==", "a computr"), "visible_if ('kind', '==', 'a computr') can never hold: 'a computr' is not one of "
                                  "the options of 'kind' (did you mean 'a computer'?)"),
    (("knd", "==", "a human"), "visible_if ('knd', '==', 'a human'): no question is named 'knd' (did you mean 'kind'?)"),
    (("later", "==", "x"), "visible_if ('later', '==', 'x'): 'later' is not an earlier question; a condition can only "
                           "use the answers to questions above it"),
    (("q", "==", "x"), "visible_if ('q', '==', 'x'): 'q' is not an earlier question; a condition can only use the "
                       "answers to questions above it"),
    (("kind", "=", "a human"), "visible_if ('kind', '=', 'a human'): unknown operator '=' (did you mean '=='?); use "
                               "one of ==, !=, <, <=, >, >=, in, not in, contains"),
    (("kind", ">", 2), "visible_if ('kind', '>', 2) can never hold: '>' compares numbers, and 'kind' is a Choice: use "
                       "'==' or 'in'"),
    (("tools", "==", "mouse"), "visible_if ('tools', '==', 'mouse') can never hold: 'tools' takes several options: "
                               "use ('tools', 'contains', option)"),
    (("kind", "contains", "a human"), "visible_if ('kind', 'contains', 'a human') can never hold: 'contains' is for a "
                                      "Choice with multiple=True, and 'kind' is a Choice: use '=='"),
    (("kind", "in", "a human"), "visible_if ('kind', 'in', 'a human') can never hold: 'in' needs a non-empty list of "
                                "values, got 'a human'"),
    (("fun", "==", 8), "visible_if ('fun', '==', 8) can never hold: 8 is not a point of 'fun' (1 to 5)"),
    (("age", ">=", "18"), "visible_if ('age', '>=', '18') can never hold: '18' is not a number, and 'age' is a Number"),
    (("grid", "==", 1), "visible_if ('grid', '==', 1) can never hold: 'grid' is a Matrix; a condition can use a "
                        "Likert, Choice, Dropdown, Number, Slider or Text"),
    ("kind == 'a human'", "visible_if must be (question, operator, value) or a list of them, got \"kind == 'a human'\""),
    ([("kind", "==")], "a condition must be (question, operator, value), got ('kind', '==')"),
], ids=repr)
def test_condition_problems_name_what_to_fix(visible_if, expected):
    survey = [mk.Choice("kind", "K?", ["a human", "a computer"]), mk.Choice("tools", "T?", ["mouse", "keys"], multiple=True),
              mk.Likert("fun", "F?", points=5), mk.Number("age", "A?"), mk.Matrix("grid", "G?", {"a": "A"}),
              mk.Text("q", "Q?", visible_if=visible_if), mk.Text("later", "L?")]
    assert problems(survey) == [f"question 'q': {expected}"]


def test_a_bare_question_is_not_a_type_the_page_can_show():
    from mugkit.questions import Question

    found = problems([Question("q", "Q?"), mk.Text("t", "T?")])
    assert len(found) == 1 and found[0].startswith("item 0 is not a question (mk.Likert, mk.Choice, mk.Text, ...): Question(")


def test_a_forged_answer_of_another_type_makes_no_condition_hold_and_raises_nothing():
    from mugkit.conditions import holds

    assert holds(("c", "in", "ab"), {"c": ["a"]}) is False      # a list is no substring
    assert holds(("c", "not in", {"a"}), {"c": ["a"]}) is False  # unhashable: nothing holds
    assert holds(("c", "in", ["a", "b"]), {"c": "a"}) is True
