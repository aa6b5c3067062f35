"""The test kit every test folder shares: the fake site and media server, the app client and the job wait.

One place for each: ``site`` (a real aiohttp site of pages and audio that misbehaves on demand), ``wait``
(a job's end or a status, awaited from its event stream) and the ``client``/``app`` fixtures in
``tests/conftest.py``.
"""
