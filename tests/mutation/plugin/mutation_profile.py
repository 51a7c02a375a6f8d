"""pytest plugin loaded into every mutant's test run (``-p mutation_profile``).

Hypothesis draws fresh examples each run and remembers failures in ``.hypothesis/``;
under mutation both would make a mutant's fate depend on luck and on earlier mutants.
This profile makes property tests derandomised, database-free and deadline-free (a
loaded machine must not turn a slow example into a "kill").
"""

try:
    from hypothesis import settings
except ImportError:  # a project without hypothesis needs no profile
    settings = None

if settings is not None:
    settings.register_profile("eidos-mutation", derandomize=True, database=None, deadline=None,
                              print_blob=False)
    settings.load_profile("eidos-mutation")
