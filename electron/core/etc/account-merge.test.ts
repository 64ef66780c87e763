import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeAccountDatabase, systemNames } from './account-merge.ts';
import { mergeLines } from './line-merge.ts';

const base = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n';

describe('account database merge by entry', () => {
  it('keeps the user you added and the system user the image added', () => {
    const local = `${base}alice:x:1000:1000::/home/alice:/bin/bash\n`;
    const upstream = `${base}sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n`;
    const { merged, conflicts } = mergeAccountDatabase('passwd', base, local, upstream);
    assert.deepEqual(conflicts, []);
    assert.equal(
      merged,
      `${base}alice:x:1000:1000::/home/alice:/bin/bash\nsshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n`,
    );
    // A line merge of the same inputs conflicts: both sides appended at the same place.
    assert.equal(mergeLines(base, local, upstream).conflicts.length, 1);
  });

  it('unites group members added on both sides', () => {
    const g = 'sudo:x:27:\nusers:x:100:bob\n';
    const { merged, conflicts } = mergeAccountDatabase(
      'group',
      g,
      'sudo:x:27:alice\nusers:x:100:bob\n',
      'sudo:x:27:\nusers:x:100:bob,_flatpak\n',
    );
    assert.deepEqual(conflicts, []);
    assert.equal(merged, 'sudo:x:27:alice\nusers:x:100:bob,_flatpak\n');
    const both = mergeAccountDatabase(
      'group',
      g,
      'sudo:x:27:alice\nusers:x:100:bob\n',
      'sudo:x:27:admin\nusers:x:100:bob\n',
    );
    assert.match(both.merged, /^sudo:x:27:alice,admin$/m);
  });

  it('conflicts only where one entry changed differently on both sides, and on deleted-but-changed entries', () => {
    const changedBoth = mergeAccountDatabase(
      'passwd',
      base,
      base.replace('/bin/bash', '/bin/zsh'),
      base.replace('/bin/bash', '/bin/fish'),
    );
    assert.equal(changedBoth.conflicts.length, 1);
    assert.deepEqual(changedBoth.conflicts[0]?.local, ['root:x:0:0:root:/root:/bin/zsh']);
    assert.match(changedBoth.merged, /^<<<<<<< yours/m);
    const deletedLocally = mergeAccountDatabase(
      'passwd',
      base,
      'root:x:0:0:root:/root:/bin/bash\n',
      base.replace('/usr/sbin:', '/var/lib:'),
    );
    assert.equal(deletedLocally.conflicts.length, 1);
  });

  it('puts back system accounts both images ship that the local file lacks, and names them', () => {
    // 3.0's /etc lost daemon in an earlier whole-file merge; 4.0 still ships it and adds sshd.
    const lost = mergeAccountDatabase(
      'passwd',
      base,
      'root:x:0:0:root:/root:/bin/bash\n',
      `${base}sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n`,
    );
    assert.deepEqual(lost.conflicts, []);
    assert.match(lost.merged, /^daemon:x:1:1:/m);
    assert.match(lost.merged, /^sshd:/m);
    assert.deepEqual(lost.restored, ['daemon']);
    // A user-range entry the images ship and the local file lacks is the user's call: a conflict.
    const imageUser = `${base}guest:x:1001:1001::/home/guest:/bin/sh\n`;
    const deleted = mergeAccountDatabase('passwd', imageUser, base, imageUser);
    assert.equal(deleted.conflicts.length, 1);
    assert.deepEqual(deleted.conflicts[0]?.base, ['guest:x:1001:1001::/home/guest:/bin/sh']);
    assert.deepEqual(deleted.restored, []);
  });

  it('restores shadow and gshadow entries of system accounts, and image members of a group', () => {
    const shadowBase = 'root:*:19000:0:99999:7:::\nsshd:!:19500::::::\nguest:!:19500::::::\n';
    const users = systemNames(`${base}sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n`);
    const shadow = mergeAccountDatabase(
      'shadow',
      shadowBase,
      'root:$y$hash:19500:0:99999:7:::\n',
      shadowBase,
      {
        users,
      },
    );
    assert.deepEqual(shadow.restored, ['sshd']);
    assert.match(shadow.merged, /^sshd:!:19500/m);
    assert.equal(shadow.conflicts.length, 1, 'guest is no system account: the user decides');
    const groupBase = 'adm:x:4:syslog\nusers:x:100:\n';
    const group = mergeAccountDatabase('group', groupBase, 'adm:x:4:alice\nusers:x:100:\n', groupBase, {
      users: new Set(['syslog']),
    });
    assert.deepEqual(group.conflicts, []);
    assert.match(group.merged, /^adm:x:4:alice,syslog$/m);
    assert.deepEqual(group.restored, ['adm: syslog']);
  });

  it('takes the one side that changed an entry, and keeps comments from yours', () => {
    const { merged, conflicts } = mergeAccountDatabase(
      'shadow',
      'root:*:19000:0:99999:7:::\n',
      '# managed by alice\nroot:$y$hash:19500:0:99999:7:::\n',
      'root:*:19000:0:99999:7:::\nsshd:!:19500::::::\n',
    );
    assert.deepEqual(conflicts, []);
    assert.equal(merged, '# managed by alice\nroot:$y$hash:19500:0:99999:7:::\nsshd:!:19500::::::\n');
  });
});

describe('line merge (diff3)', () => {
  it('merges edits apart, marks overlapping ones, and keeps final newlines exact', () => {
    const b = 'a\nb\nc\nd\ne\n';
    const clean = mergeLines(b, 'A\nb\nc\nd\ne\n', 'a\nb\nc\nd\nE\n');
    assert.equal(clean.merged, 'A\nb\nc\nd\nE\n');
    assert.deepEqual(clean.conflicts, []);
    const clash = mergeLines(b, 'a\nB1\nc\nd\ne\n', 'a\nB2\nc\nd\ne\n');
    assert.equal(clash.conflicts.length, 1);
    assert.equal(clash.conflicts[0]?.line, 2);
    assert.deepEqual(
      [clash.conflicts[0]?.local, clash.conflicts[0]?.base, clash.conflicts[0]?.upstream],
      [['B1'], ['b'], ['B2']],
    );
    assert.equal(mergeLines('x', 'x', 'y').merged, 'y');
    assert.equal(mergeLines('', 'mine\n', '').merged, 'mine\n');
  });
});
