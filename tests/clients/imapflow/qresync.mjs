// Drives imapflow in QRESYNC mode against Roost, for tests/e2e/clients.rs.
//
//   node qresync.mjs sync   PORT USER PASSWORD
//     opens INBOX, fetches every message's UID and flags; prints
//     {"uidValidity", "highestModseq", "messages"}
//   node qresync.mjs resync PORT USER PASSWORD UIDVALIDITY MODSEQ
//     opens INBOX with QRESYNC from that state, as a client with a cache does; prints the UIDs
//     reported gone (VANISHED (EARLIER)) and the UIDs whose flags were reported, with the
//     flags, and the number of messages now.
import { ImapFlow } from 'imapflow';

const [mode, port, user, pass, uidValidity, modseq] = process.argv.slice(2);
const client = new ImapFlow({
    host: '127.0.0.1',
    port: Number(port),
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass },
    qresync: true,
    logger: false
});

const vanished = [];
const flagged = {};
client.on('expunge', event => {
    if (event.vanished && event.earlier) {
        vanished.push(event.uid);
    } else {
        throw new Error(`unexpected expunge event ${JSON.stringify(event)}`);
    }
});
client.on('flags', event => {
    flagged[event.uid] = [...event.flags].sort();
});

await client.connect();
if (!client.enabled.has('QRESYNC')) {
    throw new Error('QRESYNC was not enabled');
}
let out;
if (mode === 'sync') {
    const mailbox = await client.mailboxOpen('INBOX');
    let messages = 0;
    for await (const msg of client.fetch('1:*', { uid: true, flags: true })) {
        if (!msg.uid || !msg.flags) {
            throw new Error(`incomplete message ${JSON.stringify(msg)}`);
        }
        messages++;
    }
    out = {
        uidValidity: String(mailbox.uidValidity),
        highestModseq: String(mailbox.highestModseq),
        messages
    };
} else {
    const mailbox = await client.mailboxOpen('INBOX', {
        uidValidity: BigInt(uidValidity),
        changedSince: BigInt(modseq)
    });
    out = {
        exists: mailbox.exists,
        vanished: vanished.sort((a, b) => a - b),
        flagged
    };
}
await client.logout();
console.log(JSON.stringify(out));
