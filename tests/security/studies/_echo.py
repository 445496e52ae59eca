"""A study for the hardening tests: a page and a survey question that show a URL parameter (as a
researcher might, in an f-string), then the completion page (named with _ so `pytest tests/` does not check it)."""

import mugkit as mk


@mk.scene
def hello(participant):
    return mk.Page(title="Hello", body=f"Hello {participant.params.get('name', 'you')}, welcome!")


@mk.survey
def ask(participant):
    return [mk.Text("why", f"Why did {participant.params.get('name', 'you')} come?", required=False)]


@mk.scene
def done():
    return mk.Completion(code="ECHO42")


FLOW = [hello, ask, done]
