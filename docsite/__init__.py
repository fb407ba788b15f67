"""Build machinery of the documentation site (not part of the installed packages).

- `docsite.reference`: the API reference pages, generated from the packages' public structure;
- `docsite.hooks`: the MkDocs hook that adds those pages, the offline KaTeX assets and the generated includes;
- `docsite.includes`: Markdown includes computed by code (the verification rows of each theory page);
- `docsite.figures`: `make figures`, every figure the docs show, regenerated into the docs tree;
- `docsite.check`: `make docs-check`, every page opened in headless Chromium;
- `docsite/dev/`: one-off developer scripts (the docstring conversion).
"""
