"""What a team's memory holds, in aggregate: counts by kind and project, learnings per week,
the mistakes that keep coming back, handoffs waiting per worktree (the console's overview)."""
