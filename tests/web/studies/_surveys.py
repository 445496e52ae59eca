"""A study of surveys only, for the survey tests: every question type, and questions shown only
after some earlier answers (named with _ so `pytest tests/` does not check it)."""

import mugkit as mk

AGREE = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]


@mk.survey
def scales():
    return [mk.Likert("fun", "The game was fun.", points=5, labels=AGREE),
            mk.Likert("effort", "How hard did you try?", points=7,
                      labels=["not at all", "", "", "", "", "", "as hard as I could"]),
            mk.Likert("plain", "How difficult was the game?", points=7),
            mk.Slider("confidence", "How sure are you of your answers so far?", min=0, max=100, step=5,
                      labels={0: "not at all", 50: "somewhat", 100: "completely"})]


@mk.survey
def about_you():
    return [mk.Number("age", "How old are you?", min=18, max=99, integer=True),
            mk.Dropdown("country", "Where do you live?",
                        ["Canada", "France", "Germany", "United Kingdom", "United States", "elsewhere"]),
            mk.Choice("hand", "Which hand do you write with?", ["left", "right", "both"]),
            mk.Choice("devices", "What did you play with?", ["keyboard", "mouse", "touchpad"], multiple=True),
            mk.Text("comments", "Anything else?", required=False, multiline=True, max_length=500)]


@mk.survey
def partner():
    return [mk.Matrix("trust", "How much do you agree with each statement?",
                      {"honest": "My partner played fair.", "skilled": "My partner was skilled.",
                       "quick": "My partner reacted quickly to what I did."}, points=5, labels=AGREE),
            mk.Choice("kind", "Your partner was…", ["a human", "a computer", "not sure"]),
            mk.Text("why", "What made you think it was a computer?", visible_if=("kind", "==", "a computer")),
            mk.Likert("sure", "How sure are you?", points=5, labels=["guessing", "", "", "", "certain"],
                      visible_if=("kind", "in", ["a human", "a computer"]))]


@mk.scene
def done():
    return mk.Completion(code="SURV3Y")


FLOW = [scales, about_you, partner, done]
