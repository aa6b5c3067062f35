"""The test kit every test folder shares, one place for each piece.

- ``site``: the fake web site and media server (pages and audio that misbehave on demand), ``served``.
- ``wait``: a job's end or status, awaited from its event stream (Broker in-process, SSE over HTTP).
- ``runner``: a real JobRunner with its store and broker (``open_harness``), ``read_zip``.
- ``browser``: Debian's Chromium through Playwright.

The ``app``/``client`` and ``settings`` fixtures live in ``tests/conftest.py``; a module changes what
``client`` talks to by overriding ``app`` or ``settings``.
"""
