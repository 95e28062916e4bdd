"""The Telegram adapter: turns updates into one service call and results into messages.

Not built yet (issue 4); no business rule may live here.
"""
