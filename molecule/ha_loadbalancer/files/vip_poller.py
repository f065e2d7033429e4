"""Poll a URL through the VIP at 5 Hz, for at most WINDOW seconds, and write what it saw as JSON:
when answers first failed, when they came back (the outage window in between), and who answered
last. Stops early once answers are back for a second after a failure. Bounded; stops by itself.

usage: vip_poller.py URL WINDOW OUTPUT
"""

import json
import os
import ssl
import sys
import time
import urllib.request

INTERVAL = 0.2


def main(url, window, output):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    start = time.monotonic()
    first_fail = recovered = None
    polls = failures = ok_in_row = 0
    last_answer = None
    while time.monotonic() - start < float(window):
        t = time.monotonic()
        polls += 1
        try:
            with urllib.request.urlopen(url, timeout=0.5, context=context) as resp:
                last_answer = resp.read().decode()
            ok = True
        except Exception:  # any failure is an outage poll
            ok = False
        if ok:
            ok_in_row += 1
            if first_fail is not None and recovered is None:
                recovered = t - start
            if first_fail is not None and ok_in_row >= 5:
                break
        else:
            failures += 1
            ok_in_row = 0
            recovered = None
            if first_fail is None:
                first_fail = t - start
        time.sleep(max(0.0, INTERVAL - (time.monotonic() - t)))
    result = {'polls': polls, 'failures': failures, 'first_fail': first_fail, 'recovered': recovered,
              'outage': (recovered - first_fail) if first_fail is not None and recovered is not None else None,
              'answering': ok_in_row > 0, 'last_answer': last_answer, 'elapsed': time.monotonic() - start}
    with open(output + '.part', 'w') as f:
        json.dump(result, f)
    os.replace(output + '.part', output)


if __name__ == '__main__':
    main(*sys.argv[1:4])
