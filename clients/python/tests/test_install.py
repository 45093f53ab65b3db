"""`pip install clients/python` works offline: the stdlib build backend builds a wheel pip installs."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class InstallTest(unittest.TestCase):
    def test_pip_installs_the_package_offline(self):
        if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
            self.skipTest("pip is not available for this python3")
        target = tempfile.mkdtemp(prefix="aw-py-install-")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--no-cache-dir",
                 "--disable-pip-version-check", "--quiet", "--target", target, ROOT],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stderr)
            probe = subprocess.run(
                [sys.executable, "-c", "import allocwatch, sys; print(allocwatch.__file__); "
                 "print(allocwatch.MemoryType(6).name, allocwatch.PROTOCOL_VERSION)"],
                capture_output=True, text=True, cwd=target, env={**os.environ, "PYTHONPATH": target}, timeout=60)
            self.assertEqual(probe.returncode, 0, probe.stderr)
            self.assertTrue(probe.stdout.startswith(os.path.join(target, "allocwatch")), probe.stdout)
            self.assertIn("KERNEL 3", probe.stdout)
            self.assertTrue(any(n.startswith("allocwatch-0.1.0.dist-info") for n in os.listdir(target)))
        finally:
            shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(os.path.join(ROOT, "build"), ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
