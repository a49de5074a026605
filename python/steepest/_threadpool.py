"""threadpoolctl sees steepest's threads: ``threadpool_limits(1)`` limits them too, and
``threadpool_info()`` lists them (user_api and internal_api "steepest").

threadpoolctl (>= 3.0) finds the thread pools of the libraries loaded in the process through
controllers registered with it: it recognizes steepest's compiled module by the file name
``_core*`` and the C symbols ``steepest_get_num_threads`` / ``steepest_set_num_threads``
(csrc/runtime/parallel.cc), and calls them. Registering needs threadpoolctl imported, and
``import steepest`` imports numpy alone, so steepest registers its controller when threadpoolctl
is imported: at once if it already is, else through a finder on ``sys.meta_path`` that acts on
the import of ``threadpoolctl`` only, and then removes itself.
"""

import sys

_registered = False


def register():
    """Registers steepest's controller with threadpoolctl, once; nothing if threadpoolctl is
    older than 3.0 (no custom controllers)."""
    global _registered
    import threadpoolctl

    if _registered or not hasattr(threadpoolctl, "register"):
        return
    from . import __version__

    class SteepestController(threadpoolctl.LibController):
        user_api = "steepest"
        internal_api = "steepest"
        filename_prefixes = ("_core",)
        check_symbols = ("steepest_get_num_threads", "steepest_set_num_threads")

        def get_num_threads(self):
            return self.dynlib.steepest_get_num_threads()

        def set_num_threads(self, num_threads):
            self.dynlib.steepest_set_num_threads(int(num_threads))

        def get_version(self):
            return __version__

    threadpoolctl.register(SteepestController)
    _registered = True


class _OnImport:
    """Registers the controller right after threadpoolctl's module has run."""

    looking = False  # while finding threadpoolctl's own spec

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "threadpoolctl" or cls.looking:
            return None
        import importlib.util

        cls.looking = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            cls.looking = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = cls.Loader(spec.loader)
        return spec

    class Loader:
        def __init__(self, loader):
            self.loader = loader

        def create_module(self, spec):
            return self.loader.create_module(spec)

        def exec_module(self, module):
            module.__loader__ = module.__spec__.loader = self.loader  # the module's own again
            self.loader.exec_module(module)
            if _OnImport in sys.meta_path:
                sys.meta_path.remove(_OnImport)
            register()


def install():
    """At ``import steepest``: registers now if threadpoolctl is imported, else on its import."""
    if "threadpoolctl" in sys.modules:
        register()
    elif _OnImport not in sys.meta_path:
        sys.meta_path.insert(0, _OnImport)
