"""Statistics: p-values against nulls, tail fits, multiple testing, enrichment tests.

Pure maths on arrays: no I/O, no model. Every function says which null and which test it uses.

* :mod:`.multitest` -- Benjamini-Hochberg q-values (plain and in log space).
* :mod:`.enrichment` -- Fisher's exact test (one-sided, log space) on sequences with a site.
"""
