// Runs Python in Pyodide (Node) with the repository mounted at /repo, for tests.
// Usage: node tests/pyodide/run.mjs REPO_DIR < script.py ; prints what the script prints.
import { loadPyodide } from "pyodide";
import { readFileSync } from "node:fs";

const repo = process.argv[2];
const code = readFileSync(0, "utf8");
const py = await loadPyodide({ stdout: (s) => console.log(s), stderr: (s) => console.error(s) });
py.FS.mkdirTree("/repo");
py.FS.mount(py.FS.filesystems.NODEFS, { root: repo }, "/repo");
try {
  await py.runPythonAsync(code);
} catch (err) {
  console.error(String(err));
  process.exit(1);
}
