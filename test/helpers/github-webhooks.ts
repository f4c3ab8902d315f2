// Webhook payloads in the shapes GitHub delivers (the recorded examples in
// ../shared/reference/github-webhooks): the top-level keys of each event and the fields of the
// pull request and review objects the listener reads, with everything else GitHub sends beside them
// trimmed to a representative few.
import { REPO } from "./github-board.ts";

type Json = Record<string, unknown>;

const [OWNER, NAME] = REPO.split("/") as [string, string];

export function repository(): Json {
  return {
    id: 515_435_940, node_id: "R_kgDOHrjtpA", name: NAME, full_name: REPO, private: false,
    owner: { login: OWNER, id: 31_898_100, type: "Organization" },
    html_url: `https://github.com/${REPO}`, url: `https://api.github.com/repos/${REPO}`, default_branch: "main",
  };
}

const installation = { id: 2_311_213, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMjMxMTIxMw==" };

/** An issues event (opened, labeled, reopened, closed...). */
export function issuesEvent(action: string, issue: Json, sender: Json, extra: Json = {}): Json {
  return { action, issue, ...extra, repository: repository(), sender, installation };
}

/** A pull request object as webhooks carry it (its id is the pull id, not the issue id). */
export function pullRequest(number: number, fields: Json): Json {
  return {
    url: `https://api.github.com/repos/${REPO}/pulls/${number}`,
    id: 279_147_437 + number, node_id: `PR_kwDO${number}`, html_url: `https://github.com/${REPO}/pull/${number}`,
    issue_url: `https://api.github.com/repos/${REPO}/issues/${number}`,
    number, state: "open", locked: false, title: "", body: null, labels: [], draft: false,
    created_at: null, updated_at: null, closed_at: null, merged_at: null, merged: false,
    requested_reviewers: [], head: { ref: `topic-${number}`, sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821" }, base: { ref: "main" },
    ...fields,
  };
}

export function pullRequestEvent(action: string, pull: Json, sender: Json, extra: Json = {}): Json {
  return { action, number: pull.number, pull_request: pull, ...extra, repository: repository(), sender, installation };
}

export function reviewEvent(pull: Json, review: { user: Json; state: string; submitted_at: string }): Json {
  return {
    action: "submitted",
    review: {
      id: 237_895_671, node_id: "PRR_kwDO", body: null, commit_id: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
      html_url: `https://github.com/${REPO}/pull/${pull.number}#pullrequestreview-237895671`, author_association: "MEMBER", ...review,
    },
    pull_request: pull,
    repository: repository(),
    sender: review.user,
    installation,
  };
}
