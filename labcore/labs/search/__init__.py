"""Lab "Guided search": AutoML as a white box (in progress; not yet in `labcore.labs.LABS`).

The learner brings a macro and micro architecture, leaves some decisions
open as a search space, and steers the search round by round. Today the
package holds the space (`config`: the dimensions, each fixed, ranged or
listed) and its checks and measures (`recipe`: the problems naming each
dimension at fault, the members' count and parameter range, a member's
spec). The strategies, the runner, the page and the registry entry follow.
"""
