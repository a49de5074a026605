"""scikit-learn and optuna stay optional: ``import steepest`` imports neither, and without
scikit-learn ``import steepest.estimators`` says what to install."""

import subprocess
import sys


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_import_steepest_imports_neither_sklearn_nor_optuna():
    result = run("import sys, steepest; "
                 "assert not {'sklearn', 'optuna'} & set(sys.modules), sorted(sys.modules)")
    assert result.returncode == 0, result.stderr


def test_estimators_without_sklearn_say_what_to_install():
    result = run("import sys; sys.modules['sklearn'] = None\n"
                 "try:\n    import steepest.estimators\n"
                 "except ImportError as e:\n    print(e)\n")
    assert result.returncode == 0, result.stderr
    assert "pip install scikit-learn" in result.stdout
