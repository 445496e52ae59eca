"""Games in the participant's browser, as the server sees them.

- :mod:`.boot`: preparing a study's browser steps at start (wheels, packages) and what a page boots;
- :mod:`.assets`: the pinned Pyodide and onnxruntime-web files (``pins.json``), found, checked and served;
  :mod:`.npm` fetches them from the npm registry, :mod:`.assets_cli` is ``mugkit assets fetch``;
- :mod:`.shipping`, :mod:`.imports`, :mod:`.public_files`: what a browser step ships, and what never leaves;
- :mod:`.wheels`: the wheels built from those files;
- :mod:`.games`: the running games: their rows, resume records and endings;
- :mod:`.verify`: re-simulating ended games to verify their rows.
"""
