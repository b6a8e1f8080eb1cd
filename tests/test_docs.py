"""The project's documents say what is true of the project itself."""

import re
from pathlib import Path

from glmcheck.errors import EXIT_FAILED, EXIT_FIT, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE

ROOT = Path(__file__).resolve().parent.parent
#: Markdown files glmcheck writes (outputs, not documents it cites)
WRITTEN = {"report.md", "bisect.md"}


def test_every_document_the_code_cites_is_in_the_repository():
    """Docstrings and comments may cite papers and the README, not files a user does not have."""
    cited = {}
    for folder in ("glmcheck", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for name in re.findall(r"\b([A-Za-z_][\w-]*\.md)\b", path.read_text()):
                cited.setdefault(name, path.relative_to(ROOT))
    missing = {name: str(where) for name, where in cited.items()
               if name not in WRITTEN and not any(ROOT.glob(f"**/{name}"))}
    assert not missing, f"cited but not in the repository: {missing}"


def test_readme_has_the_exit_code_table():
    readme = (ROOT / "README.md").read_text()
    for code in (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FIT, EXIT_INTERNAL):
        assert re.search(rf"^\| `{code}` \|", readme, re.M), f"exit code {code} missing"
