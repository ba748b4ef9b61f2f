#!/usr/bin/python3
"""The web page at / in a real headless Chromium, against a real numsequence-server.

Each case starts the server on free ports (`PORT 0 --http 0`), reads its two ready lines,
drives Chromium through Selenium and saves a screenshot into the artifact folder. Expected
values come from Python: the Fibonacci numbers by addition, the MD5 of str(list).

    page_test.py --server PATH --artifacts DIR [unittest arguments, e.g. PageTest.test_resume]

Exit status 77 when every case run was skipped (CTest's SKIP_RETURN_CODE).
"""

import argparse
import decimal
import hashlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.set_int_max_str_digits(0)  # str() of an int of any size (F(24999) has 5,225 digits)

SERVER = None  # set from the command line
ARTIFACTS = None
CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
READY_TIMEOUT = 30  # seconds for the server's ready lines
STREAM_TIMEOUT = 120  # seconds for the largest stream (a sanitized server is slow)
DROP_FLAG = '--test-drop-websocket-after'
DEFAULT_MAX_FIBONACCI = 25000


def fibonacci(count):
    """[F(0), ..., F(count - 1)] as decimal text, by addition: independent of the server's fast
    doubling. Added as decimal.Decimal, exactly (the precision holds every digit), because
    Python's int-to-text conversion is quadratic: str() of the first 25,000 as ints takes
    seconds, as Decimals about one."""
    context = decimal.Context(prec=count // 4 + 10, Emax=decimal.MAX_EMAX)
    numbers, a, b = [], decimal.Decimal(0), decimal.Decimal(1)
    for _ in range(count):
        numbers.append(str(a))
        a, b = b, context.add(a, b)
    return numbers


def python_md5(numbers):
    """MD5 of Python's str() of the list of these integers."""
    text = '[' + ', '.join(numbers) + ']'
    if len(numbers) <= 2000:  # the same text as str(list) of ints, where that is quick
        assert text == str([int(x) for x in numbers])
    return hashlib.md5(text.encode()).hexdigest()


def fib_value(k):
    return fibonacci(k + 1)[k]


class Server:
    """numsequence-server on free loopback ports; stopped with SIGTERM."""

    def __init__(self, log_path, *extra, http_port='0'):
        self.log = open(log_path, 'w')
        self.proc = subprocess.Popen([SERVER, '0', '--http', http_port, *extra],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        try:
            first = self._line()
            second = self._line()
        except Exception:
            self.stop()
            raise
        if not first.startswith('listening on ') or not second.startswith('http listening on '):
            self.stop()
            raise RuntimeError(f'unexpected ready lines: {first!r}, {second!r}')
        self.base = 'http://' + second[len('http listening on '):]

    def _read(self):
        # Drains stdout for the server's whole life, so it never blocks on a full pipe.
        for line in self.proc.stdout:
            self.lines.put(line.rstrip('\n'))
        self.lines.put(None)

    def _line(self):
        line = self.lines.get(timeout=READY_TIMEOUT)
        if line is None:
            raise RuntimeError(f'the server exited ({self.proc.wait()}) before it was ready; '
                               f'see {self.log.name}')
        return line

    def stop(self, how=signal.SIGTERM):
        """SIGTERM (or `how`), then its exit status (it must stop within 10 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(how)
        try:
            status = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
            raise
        finally:
            self.reader.join(timeout=5)  # it ends at the closed pipe's end of file
            self.proc.stdout.close()
            self.log.close()
        return status


def server_supports(flag):
    """Whether numsequence-server's --help lists `flag`."""
    try:
        out = subprocess.run([SERVER, '--help'], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag in out.stdout + out.stderr


def start_browser(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ('--headless', '--disable-gpu', '--no-first-run',
                '--disable-background-networking', '--disable-component-update',
                '--disable-sync', '--window-size=1000,1200', f'--user-data-dir={profile}'):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument('--no-sandbox')  # Chromium refuses to run as root with it
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


class BrowserCase(unittest.TestCase):
    """A server and a browser per case, and the helpers the cases share."""
    extra_server_args = ()

    def setUp(self):
        self.name = self.id().rsplit('.', 1)[-1]
        self.problems_before = self._problems()
        self.profile = tempfile.mkdtemp(prefix='numsequence-chromium-')
        self.server = Server(os.path.join(ARTIFACTS, self.name + '.server.log'),
                             *self.extra_server_args)
        self.addCleanup(self._stop_server)
        self.driver = start_browser(self.profile)
        self.addCleanup(self._quit_browser)

    def _stop_server(self):
        self.assertEqual(self.server.stop(), 0, 'the server did not exit cleanly on SIGTERM')

    def _problems(self):
        # unittest reports a failure to its result at once (Python 3.11), before cleanups run.
        result = getattr(getattr(self, '_outcome', None), 'result', None)
        return len(result.failures) + len(result.errors) if result else None

    def _quit_browser(self):
        try:
            problems = self._problems()
            if problems is None or problems > self.problems_before:
                self.shot('failure')
                with open(os.path.join(ARTIFACTS, self.name + '.failure.html'), 'w') as f:
                    f.write(self.driver.page_source)
                with open(os.path.join(ARTIFACTS, self.name + '.console.txt'), 'w') as f:
                    for entry in self.driver.get_log('browser'):
                        f.write(f"{entry['timestamp']} {entry['level']} {entry['message']}\n")
        finally:
            self.driver.quit()
            shutil.rmtree(self.profile, ignore_errors=True)

    # Helpers -------------------------------------------------------------------------------

    def shot(self, label):
        path = os.path.join(ARTIFACTS, f'{self.name}.{label}.png')
        self.driver.save_screenshot(path)
        return path

    def text(self, element_id):
        return self.driver.find_element(By.ID, element_id).text

    def attribute(self, element_id, name):
        return self.driver.find_element(By.ID, element_id).get_attribute(name)

    def wait_for(self, condition, what, timeout=30):
        try:
            return WebDriverWait(self.driver, timeout).until(lambda d: condition())
        except TimeoutException:
            self.fail(f'after {timeout} s: {what}')

    def open_page(self, path='/'):
        self.driver.get(self.server.base + path)
        self.wait_for(lambda: self.driver.execute_script('return document.readyState') ==
                      'complete', 'the page loaded')

    def submit(self, n):
        field = self.driver.find_element(By.ID, 'num')
        field.clear()
        field.send_keys(n)
        self.driver.find_element(By.ID, 'go').click()

    def wait_until_done(self, timeout=STREAM_TIMEOUT):
        """Waits for the MD5 (shown once the stream is complete), or an error."""
        self.wait_for(lambda: self.text('md5') not in ('', '\u2026') or self.text('error'),
                      'the stream finished', timeout)
        self.assertEqual(self.text('error'), '')

    def check_stream(self, n):
        """F(n), the count, the progress and the MD5 shown equal Python's."""
        numbers = fibonacci(n + 1)
        self.assertEqual(self.text('value'), f'F({n}) = {numbers.pop()}')
        self.assertEqual(self.text('count'), str(n))
        self.assertEqual(self.text('total'), str(n))
        self.assertEqual(self.text('md5'), python_md5(numbers))
        self.assertEqual(self.attribute('progress', 'role'), 'progressbar')
        self.assertEqual(self.attribute('progress', 'aria-valuenow'), str(n))
        self.assertEqual(self.attribute('progress', 'aria-valuemax'), str(n))
        self.assertEqual(self.driver.current_url, self.server.base + f'/?num={n}')
        # The latest numbers: all of them up to 100, never more (fewer when they are long).
        items = self.driver.find_elements(By.CSS_SELECTOR, '#numbers li')
        if n <= 100:
            self.assertEqual(len(items), n)
        else:
            self.assertTrue(1 <= len(items) <= 100, len(items))
        if items:
            last = items[-1]
            self.assertEqual(last.find_element(By.CLASS_NAME, 'k').text, f'F({n - 1})')
            self.assertEqual(last.find_element(By.CLASS_NAME, 'v').text, numbers[-1])

    def console_errors(self):
        return [e for e in self.driver.get_log('browser') if e['level'] == 'SEVERE']


class PageTest(BrowserCase):
    """The page against a server with its defaults."""

    def test_first_n_numbers_value_count_and_md5(self):
        self.open_page()
        for n in (100, 1000, 0, 1):
            with self.subTest(n=n):
                self.submit(str(n))
                self.wait_until_done()
                self.check_stream(n)
                self.assertIn("matches the server's MD5", self.text('md5-note'))
                self.assertIn(f'all {n} numbers received', self.text('status'))
                self.shot(f'n{n}')
        self.assertEqual(self.console_errors(), [])

    def test_largest_n_keeps_the_dom_bounded(self):
        n = DEFAULT_MAX_FIBONACCI - 1
        self.open_page()
        self.submit(str(n))
        # While the numbers arrive the page answers scripts at once (the driver's script
        # timeout bounds it) and shows at most 100 of them.
        self.wait_for(lambda: int(self.text('count')) > 0, 'the first numbers arrived')
        self.shot('streaming')
        self.assertLessEqual(
            self.driver.execute_script("return document.querySelectorAll('#numbers li').length"),
            100)
        self.wait_until_done()
        self.check_stream(n)
        elements = self.driver.execute_script("return document.getElementsByTagName('*').length")
        self.assertLess(elements, 600)
        self.shot('largest')

    def test_bad_input_shows_a_message(self):
        self.open_page()
        rows = (
            ('-5', 'n must not be negative, got "-5".'),
            ('abc', 'n must be a whole number (digits only), got "abc".'),
            ('1.5', 'n must be a whole number (digits only), got "1.5".'),
            ('', 'Enter n, a whole number below 25000.'),
            (str(DEFAULT_MAX_FIBONACCI),
             f"n must be below {DEFAULT_MAX_FIBONACCI} (the server's limit), got \"25000\"."),
        )
        for given, message in rows:
            with self.subTest(given=given):
                self.submit(given)
                self.wait_for(lambda: self.text('error') == message, f'the message {message!r}')
                self.assertEqual(self.attribute('num', 'aria-invalid'), 'true')
                self.assertEqual(self.attribute('error', 'role'), 'alert')
                self.assertFalse(self.driver.find_element(By.ID, 'stream').is_displayed())
                self.shot('bad-' + (given.replace('.', '_') or 'empty'))
        # A valid n afterwards clears the message.
        self.submit('10')
        self.wait_until_done()
        self.assertEqual(self.text('value'), 'F(10) = 55')

    def test_without_javascript_the_server_renders_the_result(self):
        self.driver.execute_cdp_cmd('Emulation.setScriptExecutionDisabled', {'value': True})
        self.open_page('/?num=19')
        self.assertEqual(self.text('value'), 'F(19) = 4181')  # document 001's example
        self.assertEqual(self.attribute('num', 'value'), '19')
        self.assertFalse(self.driver.find_element(By.ID, 'stream').is_displayed())
        self.shot('num19')
        # The plain form asks the server again.
        self.submit('100')
        self.wait_for(lambda: self.driver.current_url == self.server.base + '/?num=100',
                      'the form was submitted to /?num=100')
        self.assertEqual(self.text('value'), f'F(100) = {fib_value(100)}')
        # A bad num: the server's 400 page with the router's message.
        self.open_page('/?num=-2')
        self.assertEqual(self.text('error'), 'parameter "num" must not be negative, got "-2"')
        self.assertEqual(self.text('value'), '')
        self.shot('bad')

    def test_phone_sized_screen_has_no_horizontal_scrolling(self):
        self.driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
            'width': 390, 'height': 844, 'deviceScaleFactor': 2, 'mobile': True})
        self.open_page()
        for n in (1000, 5):
            with self.subTest(n=n):
                self.submit(str(n))
                self.wait_until_done()
                self.check_stream(n)
                widths = self.driver.execute_script(
                    'return [document.documentElement.scrollWidth, window.innerWidth]')
                self.assertLessEqual(widths[0], widths[1], 'the page scrolls sideways')
                self.assertEqual(widths[1], 390)
                for element_id in ('num', 'go', 'value', 'md5'):
                    box = self.driver.execute_script(
                        'const r = document.getElementById(arguments[0])'
                        '.getBoundingClientRect(); return [r.left, r.right];', element_id)
                    self.assertGreaterEqual(box[0], 0, element_id)
                    self.assertLessEqual(box[1], 390, element_id)
                self.shot(f'n{n}')


class ResumeTest(BrowserCase):
    """The server drops every WebSocket after a few answer frames; the page resumes.

    The server counts the frames it produces, and the ones not yet written when it drops the
    connection are lost, as in a network failure: it writes in batches of about 64 KB (four
    frames of 16 KB), so K must be well above that for any of them to arrive. n = 3000 is
    about 60 frames: several drops.
    """
    extra_server_args = (DROP_FLAG, '10')

    def setUp(self):
        if not server_supports(DROP_FLAG):
            self.skipTest(f'numsequence-server has no {DROP_FLAG} K (drop each WebSocket '
                          'after K answer frames), the test-only flag this case needs')
        super().setUp()

    def test_a_cut_stream_finishes_after_the_page_resumes(self):
        n = 3000
        self.open_page()
        self.submit(str(n))
        self.wait_until_done()
        self.check_stream(n)  # the MD5 over all n numbers, computed in the page
        self.assertRegex(self.text('status'),
                         rf'^Done: all {n} numbers received, after [1-9][0-9]* reconnections?\.$')
        self.assertIn('the stream resumed after', self.text('md5-note'))
        self.shot('resumed')


class RestartTest(BrowserCase):
    """The server is killed mid-stream and another takes its port; the page goes on."""

    def test_a_stream_cut_by_a_killed_server_finishes_on_its_successor(self):
        n = DEFAULT_MAX_FIBONACCI - 1  # 65 MB: far from complete when the server dies
        self.open_page()
        self.submit(str(n))
        self.wait_for(lambda: int(self.text('count')) > 0, 'the first numbers arrived')
        port = self.server.base.rsplit(':', 1)[1]
        self.server.stop(signal.SIGKILL)  # no close frame, no finished answer
        self.server = Server(os.path.join(ARTIFACTS, self.name + '.successor.log'),
                             http_port=port)
        self.wait_until_done()
        self.check_stream(n)
        self.assertRegex(self.text('status'),
                         rf'^Done: all {n} numbers received, after [1-9][0-9]* reconnections?\.$')
        self.shot('resumed')


def main():
    global SERVER, ARTIFACTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--server', required=True, help='the numsequence-server binary')
    parser.add_argument('--artifacts', required=True, help='folder for screenshots and logs')
    args, rest = parser.parse_known_args()
    SERVER = args.server
    ARTIFACTS = args.artifacts
    os.makedirs(ARTIFACTS, exist_ok=True)
    program = unittest.main(argv=[sys.argv[0], '-v', *rest], exit=False)
    result = program.result
    if result.wasSuccessful() and result.testsRun > 0 and len(result.skipped) == result.testsRun:
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
