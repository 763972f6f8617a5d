"""Why mail lands in spam: the installation's own SPF, DKIM, DMARC, MX, unsubscribe and TLS.

``newsletter doctor`` and the console's Deliverability page run `checks.run_checks` and show
each finding in plain words with the fix.
"""
