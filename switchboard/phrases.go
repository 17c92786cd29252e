package switchboard

import (
	"fmt"
	"strings"
	"time"

	"callbox/config"
)

// phrase is a sentence the box says by itself (queue announcements, feature codes, the
// mobile agent's question), written in each language the box speaks out of the box: English
// and Mandarin. A caller whose language is neither hears the IVR's fallback choice.
type phrase map[string]string

func (p phrase) prompt() *config.Prompt { return config.Text(p) }

// both is a phrase with the same words in English and Mandarin, each filled with args.
func both(en, zh string, args ...any) phrase {
	return phrase{"en": fmt.Sprintf(en, args...), "zh": fmt.Sprintf(zh, args...)}
}

// The fixed phrases are functions, so no caller can change another's words.

func sorryPhrase() phrase {
	return both("Sorry, nobody can take your call right now. Please call again later. Goodbye.", "抱歉，目前没有人能接听您的电话，请稍后再拨。再见。")
}

func notAgentPhrase() phrase {
	return both("This extension is not an agent.", "此分机不是坐席。")
}

func failedPhrase() phrase {
	return both("Sorry, that did not work.", "抱歉，操作未成功。")
}

func loggedInPhrase() phrase {
	return both("You are logged in.", "您已登录。")
}

func loggedOutPhrase() phrase {
	return both("You are logged out.", "您已退出登录。")
}

func pausedPhrase() phrase {
	return both("You are paused.", "您已暂停接听。")
}

func resumedPhrase() phrase {
	return both("You are available again.", "您已恢复接听。")
}

func cannotJoinPhrase() phrase {
	return both("Sorry, that call cannot be joined.", "抱歉，无法加入该通话。")
}

// positionPhrase tells a waiting caller their place and, when known, the expected wait.
func positionPhrase(pos int, est time.Duration) phrase {
	p := both("You are the next caller.", "您是下一位。")
	if pos > 1 {
		p = both("You are caller number %d in the queue.", "您目前排在第%d位。", pos)
	}
	var wait phrase
	switch mins := int((est + time.Minute - 1) / time.Minute); {
	case est <= 0:
		return p
	case mins <= 1:
		wait = both(" Your expected wait is about one minute.", "预计等待约一分钟。")
	default:
		wait = both(" Your expected wait is about %d minutes.", "预计等待约%d分钟。", mins)
	}
	for l := range p {
		p[l] += wait[l]
	}
	return p
}

// callbackPhrase confirms a callback; the number is read digit by digit.
func callbackPhrase(number string) phrase {
	var en, zh []string
	for _, r := range number {
		switch {
		case r == '+':
			en, zh = append(en, "plus"), append(zh, "加")
		case r >= '0' && r <= '9':
			en, zh = append(en, string(r)), append(zh, string(r))
		}
	}
	return phrase{
		"en": "Thank you. We will call you back at " + strings.Join(en, " ") + ". You keep your place in the queue. Goodbye.",
		"zh": "谢谢。我们将回拨 " + strings.Join(zh, " ") + "。您在队列中的位置会为您保留。再见。",
	}
}

// confirmPhrase asks a mobile agent to accept a queue call with key.
func confirmPhrase(queue, key string) phrase {
	return both("Call from queue %s. Press %s to accept.", "来自%s队列的来电，接听请按%s。", queue, key)
}

// noQueueCallPhrase tells a supervisor the agent they asked for has no queue call.
func noQueueCallPhrase(ext string) phrase {
	return both("Extension %s has no queue call.", "分机 %s 当前没有队列通话。", spell(ext))
}
