import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { INSTALLED_HELPER } from '../../electron/helper/helper-client.ts';
import {
  ACTION_PREFIX,
  ADMIN_USER,
  OTHER_USER,
  POLICY_FILE,
  policyActions,
  polkitRule,
} from './privileged.ts';

/**
 * Host-side and quick (no guest): what the booted scenario's polkit rule grants, judged against the
 * policy the package installs. The rule is run the way polkitd runs it (a script calling
 * polkit.addRule), so a policy that gains an action the rule misses fails here, not in the guest.
 */

type Rule = (action: { id: string }, subject: { user: string }) => unknown;
const YES = 'yes';

function loadRule(text: string): Rule[] {
  const rules: Rule[] = [];
  const polkit = {
    Result: { NO: 'no', YES, AUTH_SELF: 'auth_self', AUTH_ADMIN: 'auth_admin' },
    addRule: (rule: Rule) => rules.push(rule),
  };
  runInNewContext(text, { polkit });
  return rules;
}

describe("the booted test's polkit rule and the packaged policy", () => {
  const actions = policyActions(readFileSync(POLICY_FILE, 'utf8'));

  it('pins every action of the policy to the installed helper, with the mode as its argument', () => {
    assert.ok(actions.length >= 2, 'the policy has its actions');
    for (const action of actions) {
      assert.ok(action.id.startsWith(ACTION_PREFIX), `${action.id} is one of Hindsight's actions`);
      assert.equal(action.execPath, INSTALLED_HELPER, `${action.id} runs only ${INSTALLED_HELPER}`);
      assert.ok(action.argv1, `${action.id} is told apart by the helper's first argument`);
    }
    assert.equal(new Set(actions.map((a) => a.argv1)).size, actions.length, 'one action per argument');
  });

  it('grants the test user every action of the policy, and nothing else to anyone', () => {
    const rules = loadRule(polkitRule(ADMIN_USER));
    assert.equal(rules.length, 1);
    const rule = rules[0] as Rule;
    for (const { id } of actions) {
      assert.equal(rule({ id }, { user: ADMIN_USER }), YES, `${id} for ${ADMIN_USER}`);
      assert.equal(rule({ id }, { user: OTHER_USER }), undefined, `${id} for ${OTHER_USER}`);
    }
    for (const id of ['org.freedesktop.policykit.exec', 'org.hindsight', 'org.hindsightx.manage']) {
      assert.equal(rule({ id }, { user: ADMIN_USER }), undefined, `${id} is not Hindsight's`);
    }
  });
});
