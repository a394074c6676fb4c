//! The demo company (`sable demo`): six sales people and their book of organizations,
//! contacts, leads and opportunities, mostly Chinese with a few English-speaking customers.
//!
//! Everything comes from a fixed seed and a fixed anchor date, so every run on an empty
//! database writes the same records (only ids and timestamps differ). Records go through
//! the record service acting as their owner, like any other write; nothing here touches
//! SQL, and nothing here prints: the caller reports the [`DemoSummary`].
//! Web sites and e-mail addresses use `example.com` so nobody real is ever written to.

use std::collections::HashSet;
use std::fmt;

use anyhow::{Context, anyhow, bail};
use jiff::ToSpan;
use jiff::civil::Date;
use sable_store::users::{self, NewUser, User};
use sable_store::{Actor, Store};
use serde_json::{Map, Value as Json, json};

/// The password of every demo user.
const DEMO_PASSWORD: &str = "demo1234";
const SEED: u64 = 0x5AB1_E0DE_0000_2026;
/// Records per `create_many` call.
const BATCH: usize = 50;
/// Closing dates are spread around this day rather than today, so every run is the same.
const ANCHOR: Date = jiff::civil::date(2026, 12, 1);

/// What the demo loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: usize,
    pub accounts: usize,
    pub contacts: usize,
    pub leads: usize,
    pub opportunities: usize,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo data loaded: {} users, {} organizations, {} contacts, {} leads, {} opportunities",
            self.users, self.accounts, self.contacts, self.leads, self.opportunities
        )
    }
}

/// A small deterministic generator (splitmix64): the same seed gives the same demo.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0; the modulo bias is irrelevant at these sizes).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// A Chinese city: name, short name, pinyin, province, area code, postal code.
pub(crate) struct City(
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub &'static str,
);

#[rustfmt::skip]
pub(crate) const CITIES: &[City] = &[
    City("北京市", "北京", "bj", "北京市", "010", "100020"),
    City("上海市", "上海", "sh", "上海市", "021", "200120"),
    City("深圳市", "深圳", "sz", "广东省", "0755", "518057"),
    City("广州市", "广州", "gz", "广东省", "020", "510623"),
    City("杭州市", "杭州", "hz", "浙江省", "0571", "310012"),
    City("成都市", "成都", "cd", "四川省", "028", "610041"),
    City("南京市", "南京", "nj", "江苏省", "025", "210019"),
    City("苏州市", "苏州", "suz", "江苏省", "0512", "215021"),
    City("武汉市", "武汉", "wh", "湖北省", "027", "430074"),
    City("西安市", "西安", "xa", "陕西省", "029", "710065"),
    City("重庆市", "重庆", "cq", "重庆市", "023", "400020"),
    City("天津市", "天津", "tj", "天津市", "022", "300201"),
    City("青岛市", "青岛", "qd", "山东省", "0532", "266071"),
    City("厦门市", "厦门", "xm", "福建省", "0592", "361008"),
    City("长沙市", "长沙", "cs", "湖南省", "0731", "410005"),
];

/// Trade names (字号) with their pinyin.
#[rustfmt::skip]
pub(crate) const BRANDS: &[(&str, &str)] = &[
    ("华信", "huaxin"), ("恒达", "hengda"), ("瑞丰", "ruifeng"), ("中科", "zhongke"),
    ("博远", "boyuan"), ("天成", "tiancheng"), ("金鼎", "jinding"), ("新锐", "xinrui"),
    ("宏图", "hongtu"), ("汇通", "huitong"), ("鼎盛", "dingsheng"), ("联创", "lianchuang"),
    ("云帆", "yunfan"), ("智联", "zhilian"), ("百川", "baichuan"), ("星河", "xinghe"),
    ("海纳", "haina"), ("明德", "mingde"), ("同心", "tongxin"), ("正元", "zhengyuan"),
    ("润泽", "runze"), ("东方", "dongfang"), ("长城", "changcheng"), ("昆仑", "kunlun"),
    ("嘉禾", "jiahe"), ("远景", "yuanjing"), ("盛世", "shengshi"), ("腾达", "tengda"),
    ("安信", "anxin"), ("凯瑞", "kairui"), ("蓝海", "lanhai"), ("启明", "qiming"),
    ("立德", "lide"), ("广源", "guangyuan"), ("诚泰", "chengtai"), ("万象", "wanxiang"),
    ("易达", "yida"), ("思源", "siyuan"), ("卓越", "zhuoyue"), ("华晨", "huachen"),
];

/// Industry words in company names, with the industry picklist value and a domain word.
#[rustfmt::skip]
pub(crate) const TRADES: &[(&str, &str, &str)] = &[
    ("科技", "Technology", "tech"), ("信息技术", "Technology", "it"),
    ("电子", "Electronics", "elec"), ("医疗器械", "Healthcare", "med"),
    ("物流", "Transportation", "logistics"), ("建设工程", "Construction", "build"),
    ("食品", "Food & Beverage", "food"), ("新能源", "Energy", "energy"),
    ("生物技术", "Biotechnology", "bio"), ("教育科技", "Education", "edu"),
    ("管理咨询", "Consulting", "consulting"), ("机械制造", "Machinery", "machinery"),
    ("通信技术", "Communications", "telecom"), ("服饰", "Apparel", "fashion"),
    ("化工", "Chemicals", "chem"), ("文化传媒", "Media", "media"),
    ("环保科技", "Environmental", "eco"), ("商贸", "Retail", "trade"),
];

/// Family names with pinyin.
#[rustfmt::skip]
pub(crate) const SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("欧阳", "ouyang"),
];

/// Given names with pinyin and whether the name is usually a woman's.
#[rustfmt::skip]
pub(crate) const GIVEN_NAMES: &[(&str, &str, bool)] = &[
    ("伟", "wei", false), ("芳", "fang", true), ("娜", "na", true), ("秀英", "xiuying", true),
    ("敏", "min", true), ("静", "jing", true), ("丽", "li", true), ("强", "qiang", false),
    ("磊", "lei", false), ("军", "jun", false), ("洋", "yang", false), ("勇", "yong", false),
    ("艳", "yan", true), ("杰", "jie", false), ("娟", "juan", true), ("涛", "tao", false),
    ("明", "ming", false), ("超", "chao", false), ("秀兰", "xiulan", true), ("霞", "xia", true),
    ("平", "ping", false), ("刚", "gang", false), ("建华", "jianhua", false),
    ("晓燕", "xiaoyan", true), ("子轩", "zixuan", false), ("欣怡", "xinyi", true),
    ("浩然", "haoran", false), ("思琪", "siqi", true), ("志强", "zhiqiang", false),
    ("海燕", "haiyan", true),
];

#[rustfmt::skip]
pub(crate) const LEAD_STATUSES: &[&str] = &[
    "Attempted to Contact", "Cold", "Contact in Future", "Contacted", "Hot", "Junk Lead",
    "Lost Lead", "Not Contacted", "Pre Qualified", "Qualified", "Warm",
];

#[rustfmt::skip]
pub(crate) const LEAD_SOURCES: &[&str] = &[
    "Cold Call", "Existing Customer", "Self Generated", "Employee", "Partner",
    "Public Relations", "Direct Mail", "Conference", "Trade Show", "Web Site", "Word of mouth",
];

/// Sales stages with their default win probability (picklists.toml).
#[rustfmt::skip]
const STAGES: &[(&str, u32)] = &[
    ("Prospecting", 10), ("Qualification", 20), ("Needs Analysis", 40), ("Proposal", 60),
    ("Bidding", 70), ("Negotiation", 80), ("Closed Won", 100), ("Closed Lost", 0),
];

#[rustfmt::skip]
const ACCOUNT_TYPES: &[&str] = &[
    "Customer", "Customer", "Customer", "Prospect", "Prospect", "Partner", "Reseller",
    "Integrator", "Competitor",
];

const RATINGS: &[&str] = &[
    "Active",
    "Active",
    "Active",
    "Acquired",
    "Market Failed",
    "Project Cancelled",
];

const OWNERSHIP: &[&str] = &["民营企业", "民营企业", "国有企业", "外资企业", "合资企业"];

#[rustfmt::skip]
const ENGLISH_TITLES: &[&str] = &[
    "Head of Procurement", "IT Manager", "Operations Director", "CFO", "Project Manager",
];

#[rustfmt::skip]
const TITLES: &[&str] = &[
    "总经理", "副总经理", "采购经理", "IT总监", "财务总监", "技术总监", "销售总监",
    "行政主管", "项目经理", "运营总监", "采购专员", "信息中心主任",
];

/// The sales team: user name, family name, given name, language, time zone.
#[rustfmt::skip]
const SALES_TEAM: &[(&str, &str, &str, &str, &str)] = &[
    ("zhangwei", "张", "伟", "zh-CN", "Asia/Shanghai"),
    ("lina", "李", "娜", "zh-CN", "Asia/Shanghai"),
    ("wangfang", "王", "芳", "zh-CN", "Asia/Shanghai"),
    ("liuyang", "刘", "洋", "zh-CN", "Asia/Shanghai"),
    ("chenjing", "陈", "静", "zh-CN", "Asia/Shanghai"),
    ("anna.smith", "Smith", "Anna", "en", "Europe/London"),
];
/// Index of the English-speaking sales rep in [`SALES_TEAM`]: she owns the foreign accounts.
const ANNA: usize = 5;

/// Foreign customers: name, industry, city, state, country, phone, mobile prefix, domain.
#[rustfmt::skip]
const FOREIGN_ACCOUNTS: &[[&str; 8]] = &[
    ["Northwind Traders Ltd", "Retail", "London", "England", "United Kingdom", "+44 20 7946 0321", "+44 7700 900", "northwind.example.com"],
    ["Acme Robotics Inc.", "Machinery", "San Jose", "California", "United States", "+1 408 555 0187", "+1 408 555 0", "acme-robotics.example.com"],
    ["Blue Harbor Logistics Pte. Ltd.", "Shipping", "Singapore", "", "Singapore", "+65 6555 0142", "+65 8555 0", "blueharbor.example.com"],
    ["Fjord Analytics AS", "Consulting", "Oslo", "", "Norway", "+47 21 55 01 23", "+47 455 50", "fjord-analytics.example.com"],
];

#[rustfmt::skip]
const ENGLISH_NAMES: &[(&str, &str, bool)] = &[
    ("James", "Wilson", false), ("Emily", "Clarke", true), ("Oliver", "Brown", false),
    ("Sophie", "Taylor", true), ("Daniel", "Nguyen", false), ("Grace", "Tan", true),
    ("Lars", "Hansen", false), ("Ingrid", "Berg", true),
];

#[rustfmt::skip]
const PRODUCTS: &[(&str, &str)] = &[
    ("云服务器采购", "cloud servers"), ("CRM系统实施", "CRM rollout"),
    ("数据中心扩容", "data centre expansion"), ("年度运维服务", "annual support contract"),
    ("办公网络改造", "office network upgrade"), ("信息安全审计", "security audit"),
    ("ERP升级", "ERP upgrade"), ("视频会议系统", "video conferencing"),
    ("智能仓储方案", "smart warehousing"), ("员工培训平台", "training platform"),
];

#[rustfmt::skip]
const NEXT_STEPS: &[&str] = &[
    "安排技术交流会", "提交报价单", "约见采购负责人", "准备方案演示", "准备投标文件",
    "发送合同草案", "等待客户内部审批", "回访客户", "复盘丢单原因",
];

#[rustfmt::skip]
const ROADS: &[&str] = &[
    "人民路", "中山路", "建设路", "解放大道", "科技园南路", "长江路", "世纪大道", "高新路",
];

/// Lead notes; some carry commas, quotes, a 4-byte character and emoji on purpose.
const LEAD_NOTES: &[&str] = &[
    "客户在展会上留下名片，对\"私有化部署\"很感兴趣，希望下周安排演示。",
    "预算约50万元，决策人为IT总监；竞争对手：某国际厂商、本地集成商。",
    "Asked for a quote on 200 seats, \"ASAP\", and a 30-day trial.",
    "联系人姓氏为「𠮷」（U+20BB7，土字头，不是“吉”），录入和搜索时请注意。",
    "电话沟通顺利 👍 对方下月出差回来后再约 📅",
    "Referred by a partner; wants CSV import from the \"old CRM\", Excel, and WeChat.",
    "官网表单提交，询问价格和部署周期。",
    "老客户推荐，需求明确，下季度立项。",
];

fn chinese_mobile(rng: &mut Rng, used: &mut HashSet<String>) -> String {
    const PREFIXES: &[u32] = &[
        133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 158, 159, 177, 180, 186, 187, 188, 189, 199,
    ];
    loop {
        let n = format!(
            "{}-{:04}-{:04}",
            rng.pick(PREFIXES),
            rng.below(10_000),
            rng.below(10_000)
        );
        if used.insert(n.clone()) {
            return n;
        }
    }
}

/// A record's fields with the index of its owner in the sales team.
type Owned = (usize, Map<String, Json>);

/// One generated organization and what later records need to know about it.
struct DemoAccount {
    owner: usize,
    fields: Map<String, Json>,
    /// Index of the parent account (Member Of), created in a second pass.
    parent: Option<usize>,
    city: usize,
    brand: usize,
    trade: usize,
    /// Index into [`FOREIGN_ACCOUNTS`] for a foreign customer.
    foreign: Option<usize>,
    domain: String,
}

/// Loads the demo company. Refuses when the demo users exist already.
pub async fn load_demo(store: &Store) -> anyhow::Result<DemoSummary> {
    for (user_name, ..) in SALES_TEAM {
        if users::find_user(store, user_name).await?.is_some() {
            bail!("demo data already loaded (user `{user_name}` exists)");
        }
    }
    let team = create_team(store).await?;
    let mut rng = Rng::new(SEED);
    let mut mobiles = HashSet::new();

    let accounts = generate_accounts(&mut rng);
    let mut account_ids = vec![0; accounts.len()];
    // Parents first, so that subsidiaries can point to them.
    for subsidiaries in [false, true] {
        let (index, items): (Vec<usize>, Vec<Owned>) = accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.parent.is_some() == subsidiaries)
            .map(|(i, a)| {
                let mut fields = a.fields.clone();
                if let Some(p) = a.parent {
                    fields.insert("account_id".into(), json!(account_ids[p]));
                }
                (i, (a.owner, fields))
            })
            .unzip();
        let ids = create_owned(store, &team, "Accounts", items).await?;
        for (i, id) in index.into_iter().zip(ids) {
            account_ids[i] = id;
        }
    }

    // Contacts and opportunities belong to their organization's owner: with private
    // sharing, that is who can see the organization they point to.
    let contacts = generate_contacts(&mut rng, &accounts, &account_ids, &mut mobiles);
    let contact_accounts: Vec<usize> = contacts.iter().map(|(a, _)| *a).collect();
    let items = contacts
        .into_iter()
        .map(|(a, fields)| (accounts[a].owner, fields))
        .collect();
    let contact_ids = create_owned(store, &team, "Contacts", items).await?;

    let leads = generate_leads(&mut rng, &mut mobiles);
    let lead_count = leads.len();
    create_owned(store, &team, "Leads", leads).await?;

    let opportunities = generate_opportunities(&mut rng, &accounts, &account_ids, &contact_accounts, &contact_ids)?;
    let opportunity_count = opportunities.len();
    create_owned(store, &team, "Opportunities", opportunities).await?;

    create_owned(store, &team, "Tasks", generate_tasks(&mut rng, team.len())?).await?;
    create_sample_dashboard(store, &team).await?;

    Ok(DemoSummary {
        users: team.len(),
        accounts: accounts.len(),
        contacts: contact_ids.len(),
        leads: lead_count,
        opportunities: opportunity_count,
    })
}

async fn create_team(store: &Store) -> anyhow::Result<Vec<User>> {
    let system = Actor::unrestricted_for_system_jobs();
    let mut team = Vec::with_capacity(SALES_TEAM.len());
    for (user_name, last, first, language, time_zone) in SALES_TEAM {
        let new = NewUser {
            user_name: user_name.to_string(),
            password: DEMO_PASSWORD.into(),
            first_name: Some(first.to_string()),
            last_name: last.to_string(),
            email1: Some(format!("{user_name}@sable-demo.example.com")),
            is_admin: false,
            language: Some(language.to_string()),
            time_zone: Some(time_zone.to_string()),
        };
        let user = users::create_user(store, &system, &new)
            .await
            .with_context(|| format!("creating demo user `{user_name}`"))?;
        team.push(user);
    }
    Ok(team)
}

/// Creates records as their owners, in batches, and returns the ids in input order.
async fn create_owned(store: &Store, team: &[User], module: &str, items: Vec<Owned>) -> anyhow::Result<Vec<i64>> {
    let mut ids = vec![0; items.len()];
    for (owner_index, owner) in team.iter().enumerate() {
        let actor = owner.actor();
        let mine: Vec<(usize, &Map<String, Json>)> = items
            .iter()
            .enumerate()
            .filter(|(_, (o, _))| *o == owner_index)
            .map(|(i, (_, fields))| (i, fields))
            .collect();
        for chunk in mine.chunks(BATCH) {
            let inputs: Vec<Map<String, Json>> = chunk.iter().map(|(_, m)| (*m).clone()).collect();
            let outcomes = store
                .records(&actor)
                .create_many(module, &inputs, true)
                .await
                .with_context(|| format!("creating demo {module}"))?;
            for ((i, _), outcome) in chunk.iter().zip(outcomes) {
                ids[*i] = outcome.map_err(|e| anyhow!("creating demo {module}: {e}"))?;
            }
        }
    }
    Ok(ids)
}

fn generate_accounts(rng: &mut Rng) -> Vec<DemoAccount> {
    const CHINESE: usize = 33;
    const SUBSIDIARIES: usize = 3;
    let mut brands: Vec<usize> = (0..BRANDS.len()).collect();
    for i in (1..brands.len()).rev() {
        brands.swap(i, rng.below(i + 1));
    }
    let mut out: Vec<DemoAccount> = Vec::new();
    for (n, &brand) in brands.iter().enumerate().take(CHINESE + SUBSIDIARIES) {
        let account = match n.checked_sub(CHINESE) {
            // A subsidiary keeps its parent's trade name and industry, in another city.
            Some(p) => {
                let parent = &out[p];
                let city = (parent.city + 1 + rng.below(CITIES.len() - 1)) % CITIES.len();
                let (brand, trade, owner) = (parent.brand, parent.trade, parent.owner);
                // The group's account manager owns the subsidiary too: with private
                // sharing, only the parent's owner may point to it.
                DemoAccount {
                    owner,
                    ..chinese_account(rng, n, brand, trade, city, Some(p))
                }
            }
            None => {
                let trade = rng.below(TRADES.len());
                let city = rng.below(CITIES.len());
                chinese_account(rng, n, brand, trade, city, None)
            }
        };
        out.push(account);
    }
    for i in 0..FOREIGN_ACCOUNTS.len() {
        out.push(foreign_account(rng, i));
    }
    out
}

fn chinese_account(
    rng: &mut Rng,
    n: usize,
    brand: usize,
    trade: usize,
    city: usize,
    parent: Option<usize>,
) -> DemoAccount {
    let ((b, b_py), (t, industry, t_py), c) = (BRANDS[brand], TRADES[trade], &CITIES[city]);
    let name = match parent {
        Some(_) => format!("{b}{t}（{}）有限公司", c.1),
        None if rng.chance(20) => format!("{}{b}{t}股份有限公司", c.1),
        None => format!("{}{b}{t}有限公司", c.1),
    };
    let domain = format!("{b_py}-{t_py}-{}.example.com", c.2);
    let employees = rng.pick(&[20, 50, 80, 150, 300, 600, 1200, 3500]) + rng.range(0, 19);
    let revenue = employees * rng.range(20, 80) * 10_000;
    let (number, road, floor) = (rng.range(1, 999), rng.pick(ROADS), rng.range(2, 30));
    let fields = object(json!({
        "accountname": name,
        "industry": industry,
        "accounttype": rng.pick(ACCOUNT_TYPES),
        "rating": rng.pick(RATINGS),
        "ownership": rng.pick(OWNERSHIP),
        "phone": format!("{}-{:04} {:04}", c.4, rng.range(5000, 8999), rng.below(10_000)),
        "website": format!("https://www.{domain}"),
        "email1": format!("info@{domain}"),
        "employees": employees,
        "annual_revenue": format!("{revenue}.00"),
        "bill_street": format!("{road}{number}号{b}大厦{floor}层"),
        "bill_city": c.0,
        "bill_state": c.3,
        "bill_code": c.5,
        "bill_country": "中国",
    }));
    DemoAccount {
        owner: n % SALES_TEAM.len(),
        fields,
        parent,
        city,
        brand,
        trade,
        foreign: None,
        domain,
    }
}

fn foreign_account(rng: &mut Rng, i: usize) -> DemoAccount {
    let [name, industry, city, state, country, phone, _, domain] = FOREIGN_ACCOUNTS[i];
    let fields = object(json!({
        "accountname": name,
        "industry": industry,
        "accounttype": if i.is_multiple_of(2) { "Customer" } else { "Prospect" },
        "rating": "Active",
        "phone": phone,
        "website": format!("https://www.{domain}"),
        "email1": format!("hello@{domain}"),
        "employees": rng.range(40, 900),
        "annual_revenue": format!("{}.00", rng.range(20, 400) * 100_000),
        "bill_city": city,
        "bill_state": state,
        "bill_country": country,
    }));
    DemoAccount {
        owner: ANNA,
        fields,
        parent: None,
        city: 0,
        brand: 0,
        trade: 0,
        foreign: Some(i),
        domain: domain.to_string(),
    }
}

/// A generated person, for a contact or a lead.
struct Person {
    last: String,
    first: String,
    salutation: &'static str,
    /// What comes before the `@` of their e-mail address.
    mailbox: String,
    mobile: String,
}

fn salutation(rng: &mut Rng, female: bool) -> &'static str {
    match rng.below(10) {
        0 => "Dr.",
        _ if female => "Ms.",
        _ => "Mr.",
    }
}

fn chinese_person(rng: &mut Rng, mobiles: &mut HashSet<String>) -> Person {
    let (last, last_py) = *rng.pick(SURNAMES);
    let (first, first_py, female) = *rng.pick(GIVEN_NAMES);
    Person {
        last: last.into(),
        first: first.into(),
        salutation: salutation(rng, female),
        mailbox: format!("{first_py}.{last_py}"),
        mobile: chinese_mobile(rng, mobiles),
    }
}

fn english_person(rng: &mut Rng, mobiles: &mut HashSet<String>, mobile_prefix: &str) -> Person {
    let (first, last, female) = *rng.pick(ENGLISH_NAMES);
    // The prefixes are ranges reserved for fiction where the country has one.
    let mobile = format!("{mobile_prefix}{:03}", 100 + mobiles.len() % 900);
    mobiles.insert(mobile.clone());
    Person {
        last: last.into(),
        first: first.into(),
        salutation: salutation(rng, female),
        mailbox: format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
        mobile,
    }
}

fn unique_email(used: &mut HashSet<String>, mailbox: &str, domain: &str) -> String {
    let mut email = format!("{mailbox}@{domain}");
    let mut n = 2;
    while !used.insert(email.clone()) {
        email = format!("{mailbox}{n}@{domain}");
        n += 1;
    }
    email
}

/// Two contacts per organization on average (at least one each), as (account index, fields).
fn generate_contacts(
    rng: &mut Rng,
    accounts: &[DemoAccount],
    account_ids: &[i64],
    mobiles: &mut HashSet<String>,
) -> Vec<(usize, Map<String, Json>)> {
    let mut per_account = vec![1; accounts.len()];
    for _ in 0..accounts.len() {
        per_account[rng.below(accounts.len())] += 1;
    }
    let mut emails = HashSet::new();
    let mut out = Vec::new();
    for (a, account) in accounts.iter().enumerate() {
        for k in 0..per_account[a] {
            // The first contact of an organization is a decision maker.
            let (person, title, city, state, country) = match account.foreign {
                Some(i) => {
                    let [.., city, state, country, _, mobile_prefix, _] = FOREIGN_ACCOUNTS[i];
                    let title = if k == 0 {
                        ENGLISH_TITLES[0]
                    } else {
                        *rng.pick(ENGLISH_TITLES)
                    };
                    let person = english_person(rng, mobiles, mobile_prefix);
                    (person, title, city, state, country)
                }
                None => {
                    let c = &CITIES[account.city];
                    let title = if k == 0 {
                        TITLES[rng.below(4)]
                    } else {
                        *rng.pick(TITLES)
                    };
                    (chinese_person(rng, mobiles), title, c.0, c.3, "中国")
                }
            };
            let fields = object(json!({
                "account_id": account_ids[a],
                "salutationtype": person.salutation,
                "lastname": person.last,
                "firstname": person.first,
                "title": title,
                "mobile": person.mobile,
                "phone": account.fields.get("phone"),
                "email": unique_email(&mut emails, &person.mailbox, &account.domain),
                "mailingcity": city,
                "mailingstate": state,
                "mailingcountry": country,
                "leadsource": rng.pick(LEAD_SOURCES),
            }));
            out.push((a, fields));
        }
    }
    out
}

/// Sixty leads, round-robin over the team, one in ten English-speaking.
fn generate_leads(rng: &mut Rng, mobiles: &mut HashSet<String>) -> Vec<Owned> {
    const LEADS: usize = 60;
    /// The lead whose family name is written with a character outside the BMP.
    const RARE_NAME: usize = 13;
    let mut companies = HashSet::new();
    let mut out = Vec::with_capacity(LEADS);
    for n in 0..LEADS {
        let ((b, b_py), (t, industry, t_py)) = (*rng.pick(BRANDS), *rng.pick(TRADES));
        let c = rng.pick(CITIES);
        let english = n % 10 == 9;
        let (mut person, company, city, state, country) = if english {
            let company = format!("{} {} Ltd", capitalise(b_py), capitalise(t_py));
            let person = english_person(rng, mobiles, "+44 7700 900");
            (person, company, "London", "", "United Kingdom")
        } else {
            let mut company = format!("{}{b}{t}有限公司", c.1);
            while !companies.insert(company.clone()) {
                company = format!("{}{b}{t}有限公司", rng.pick(CITIES).1);
            }
            (chinese_person(rng, mobiles), company, c.0, c.3, "中国")
        };
        if n == RARE_NAME {
            person.last = "𠮷".into();
            person.mailbox = format!("{}.ji", person.mailbox.split('.').next().unwrap_or(""));
        }
        let description = match n {
            RARE_NAME => Some(LEAD_NOTES[3]),
            _ if n % 3 == 0 => Some(*rng.pick(LEAD_NOTES)),
            _ => None,
        };
        let employees = rng.chance(50).then(|| rng.range(10, 2000));
        let fields = object(json!({
            "salutationtype": person.salutation,
            "lastname": person.last,
            "firstname": person.first,
            "company": company,
            "designation": if english { ENGLISH_TITLES[n % ENGLISH_TITLES.len()] } else { *rng.pick(TITLES) },
            "mobile": person.mobile,
            "email": format!("{}@{b_py}-{t_py}.example.com", person.mailbox),
            "industry": industry,
            "leadsource": rng.pick(LEAD_SOURCES),
            "leadstatus": LEAD_STATUSES[n % LEAD_STATUSES.len()],
            "noofemployees": employees,
            "city": city,
            "state": state,
            "country": country,
            "description": description,
        }));
        out.push((n % SALES_TEAM.len(), fields));
    }
    out
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Fifty opportunities over all sales stages, owned by their organization's owner.
fn generate_opportunities(
    rng: &mut Rng,
    accounts: &[DemoAccount],
    account_ids: &[i64],
    contact_accounts: &[usize],
    contact_ids: &[i64],
) -> anyhow::Result<Vec<Owned>> {
    const OPPORTUNITIES: usize = 50;
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(OPPORTUNITIES);
    for n in 0..OPPORTUNITIES {
        let a = rng.below(accounts.len());
        let account = &accounts[a];
        let contacts: Vec<i64> = contact_accounts
            .iter()
            .zip(contact_ids)
            .filter(|(ca, _)| **ca == a)
            .map(|(_, id)| *id)
            .collect();
        let (stage, probability) = STAGES[n % STAGES.len()];
        let (product_zh, product_en) = *rng.pick(PRODUCTS);
        let (base, next_phase): (String, fn(&str, i32) -> String) = match account.foreign {
            Some(i) => (format!("{} – {product_en}", FOREIGN_ACCOUNTS[i][0]), |base, phase| {
                format!("{base} (phase {phase})")
            }),
            None => (
                format!("{}{product_zh}项目", BRANDS[account.brand].0),
                |base, phase| format!("{base}（{phase}期）"),
            ),
        };
        let mut name = base.clone();
        for phase in 2.. {
            if names.insert(name.clone()) {
                break;
            }
            name = next_phase(&base, phase);
        }
        // Closed deals closed in the past; open ones close soon, a few are overdue.
        let closed = stage.starts_with("Closed");
        let days = if closed {
            rng.range(-182, -1)
        } else {
            rng.range(-20, 182)
        };
        let closing = ANCHOR.checked_add(days.days()).context("closing date")?;
        let amount = rng.range(30, 3000) * 1000;
        let next_step = match stage {
            "Closed Won" => NEXT_STEPS[7],
            "Closed Lost" => NEXT_STEPS[8],
            _ => NEXT_STEPS[n % STAGES.len()],
        };
        let fields = object(json!({
            "potentialname": name,
            "related_to": account_ids[a],
            "contact_id": (!contacts.is_empty()).then(|| *rng.pick(&contacts)),
            "amount": format!("{amount}.00"),
            "lost_reason": (stage == "Closed Lost").then_some("预算削减 / budget cut"),
            "closingdate": closing.to_string(),
            "sales_stage": stage,
            "probability": probability.to_string(),
            "opportunity_type": if rng.chance(40) { "Existing Business" } else { "New Business" },
            "leadsource": rng.pick(LEAD_SOURCES),
            "nextstep": next_step,
        }));
        out.push((account.owner, fields));
    }
    Ok(out)
}

/// Follow-ups of the last eight weeks before the anchor (done) and a few overdue ones, so
/// the dashboard's follow-up widgets have something to show.
fn generate_tasks(rng: &mut Rng, people: usize) -> anyhow::Result<Vec<Owned>> {
    const DONE: usize = 60;
    const OVERDUE: usize = 12;
    let mut out = Vec::with_capacity(DONE + OVERDUE);
    for n in 0..DONE + OVERDUE {
        let done = n < DONE;
        let day = if done {
            ANCHOR.checked_add(rng.range(-55, 0).days()).context("task date")?
        } else {
            ANCHOR.checked_add(rng.range(-14, -1).days()).context("task date")?
        };
        let subject = if done {
            "回访客户 / follow-up call"
        } else {
            "发送报价 / send the quote"
        };
        let fields = object(json!({
            "subject": subject,
            "taskstatus": if done { "Completed" } else { "Not Started" },
            "date_start": day.to_string(),
            "due_date": day.to_string(),
        }));
        out.push((n % people, fields));
    }
    Ok(out)
}

/// A shared "sales overview" dashboard owned by the sales manager (the first of the team),
/// with every built-in widget and two saved reports shared with the team.
async fn create_sample_dashboard(store: &Store, team: &[User]) -> anyhow::Result<()> {
    use sable_store::dashboards::{BUILTIN_KINDS, REPORT_KIND, add_widget, create_dashboard};
    use sable_store::reports::saved::{ReportInput, create_report};
    let Some(manager) = team.first() else {
        return Ok(());
    };
    let actor = manager.actor();
    let others: Vec<i64> = team.iter().skip(1).map(|u| u.id).collect();
    let reports = [
        (
            "各销售每季度赢单金额 / Won revenue per salesperson per quarter",
            json!({"module": "Opportunities",
                   "filter": {"all": [{"field": "sales_stage", "op": "eq", "value": "Closed Won"}]},
                   "group_by": [{"field": "closingdate", "bucket": "quarter"}, {"field": "assigned_user_id"}],
                   "aggregates": [{"fn": "sum", "field": "amount"}]}),
            "stacked_bar",
        ),
        (
            "商机来源 / Opportunities by lead source",
            json!({"module": "Opportunities",
                   "group_by": [{"field": "leadsource"}],
                   "aggregates": [{"fn": "count"}],
                   "sort": [{"key": "count", "desc": true}]}),
            "pie",
        ),
    ];
    let mut report_ids = Vec::new();
    for (name, spec, chart) in reports {
        let input = ReportInput {
            name: name.into(),
            spec: serde_json::from_value(spec).context("demo report spec")?,
            chart: Some(json!({"type": chart})),
            schedule: None,
            shared_with: others.clone(),
        };
        let saved = create_report(store, &actor, &input)
            .await
            .map_err(|e| anyhow!("creating a demo report: {e}"))?;
        report_ids.push((saved.id, chart));
    }
    let id = create_dashboard(store, &actor, "销售总览 / Sales overview", true)
        .await
        .map_err(|e| anyhow!("creating the demo dashboard: {e}"))?;
    for kind in BUILTIN_KINDS {
        add_widget(store, &actor, id, kind, None, "")
            .await
            .map_err(|e| anyhow!("adding a demo widget: {e}"))?;
    }
    for (report, chart) in report_ids {
        add_widget(store, &actor, id, REPORT_KIND, Some(report), chart)
            .await
            .map_err(|e| anyhow!("adding a demo report widget: {e}"))?;
    }
    Ok(())
}

fn object(value: Json) -> Map<String, Json> {
    match value {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic() {
        let names = |seed| {
            let mut rng = Rng::new(seed);
            generate_accounts(&mut rng)
                .iter()
                .map(|a| a.fields["accountname"].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(SEED), names(SEED));
        let unique: HashSet<_> = names(SEED).into_iter().collect();
        assert_eq!(unique.len(), 40);
    }

    #[tokio::test]
    async fn loads_once_then_refuses() {
        let db = sable_store::testing::sqlite_db();
        let store = db.store().await;
        let summary = load_demo(&store).await.expect("demo loads");
        assert_eq!(
            (
                summary.users,
                summary.accounts,
                summary.contacts,
                summary.leads,
                summary.opportunities
            ),
            (6, 40, 80, 60, 50)
        );
        let manager = users::find_user(&store, "zhangwei").await.unwrap().unwrap().actor();
        let dashboards = sable_store::dashboards::list_dashboards(&store, &manager)
            .await
            .unwrap();
        assert_eq!(dashboards.len(), 1, "the sample dashboard");
        assert!(dashboards[0].shared);
        let widgets = sable_store::dashboards::widgets(&store, &manager, dashboards[0].id)
            .await
            .unwrap();
        assert_eq!(widgets.len(), 11, "every built-in widget and two reports");
        let again = load_demo(&store).await.expect_err("second run refused");
        assert!(again.to_string().contains("demo data already loaded"));
        let hits = store
            .records(&Actor::unrestricted_for_system_jobs())
            .search("𠮷", 10)
            .await
            .expect("search");
        assert!(!hits.is_empty(), "4-byte characters are searchable");
        store.close().await;
        db.cleanup().await;
    }
}
