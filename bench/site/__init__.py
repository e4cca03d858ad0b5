"""The results explorer: `bench site build --out site/` writes one self-contained static folder
(leaderboards, run pages, the instance browser, run-vs-run comparisons, human evaluation) from
the results store and the run folders; `bench site serve` shows it on 127.0.0.1.

The folder needs no server: index.html, app.js and style.css (bench/site/static) read their data
from JS files that assign it (`erbench.put(key, data)`, bench.site.chunks), loaded on demand as
`<script src>` tags, because Chromium refuses fetch() of JSON from file://. Every string from a
model, dataset or config is data for the page's textContent, never markup.
"""
