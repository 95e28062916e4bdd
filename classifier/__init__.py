"""Text in, topics out.

This package knows nothing of the helpdesk's store or channels: it turns text
into features, trains a multi-label topic model with scikit-learn, serves it
from exported arrays (fast, no sklearn import at run time), evaluates it, and
guesses the language of a query.

Nothing is imported here: ``from classifier.text import fold`` must not load
numpy and the model for a command that never classifies. Import the modules
(``classifier.model``, ``classifier.language``, ``classifier.text``) directly.
"""
